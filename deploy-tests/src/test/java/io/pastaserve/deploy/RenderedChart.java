package io.pastaserve.deploy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The chart rendered by Helm's own engine (helm-java bundles it as a native library: no helm binary, no cluster)
 * for one values file, every document parsed into fabric8's Kubernetes model; custom resources (KEDA, Prometheus
 * Operator) come back as {@link GenericKubernetesResource}. Renders are cached per values file.
 */
record RenderedChart(String valuesFile, List<HasMetadata> objects) {

  static final String RELEASE = "demo";
  /** Kubernetes version the chart is rendered for (the chart needs 1.25 or later). */
  static final String KUBE_VERSION = "1.30.0";

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Map<String, RenderedChart> CACHE = new ConcurrentHashMap<>();

  /** Values files under helm/pasta-serve/ci (the scenarios CI renders) and helm/examples, relative to the root. */
  static List<String> valuesFiles() {
    Path root = Repository.root();
    try (Stream<Path> ci = Files.list(Repository.chart().resolve("ci"));
        Stream<Path> examples = Files.list(root.resolve("helm/examples"))) {
      return Stream.concat(ci, examples)
          .filter(p -> p.toString().endsWith(".yaml"))
          .map(p -> root.relativize(p).toString())
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The chart rendered with a values file (relative to the repository root). */
  static RenderedChart of(String valuesFile) {
    return CACHE.computeIfAbsent(valuesFile, f -> parse(f, template(f).call()));
  }

  /** A template command for the chart with a values file; callers may add {@code set(...)} before calling it. */
  static TemplateCommand template(String valuesFile) {
    return new Helm(Repository.chart()).template()
        .withName(RELEASE)
        .withNamespace("pasta")
        .withKubeVersion(KUBE_VERSION)
        .withValuesFile(Repository.root().resolve(valuesFile));
  }

  static RenderedChart parse(String valuesFile, String manifests) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : manifests.split("(?m)^---\\s*$")) {
      boolean empty = document.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"));
      if (!empty) {
        objects.add(SERIALIZATION.unmarshal(document));
      }
    }
    return new RenderedChart(valuesFile, List.copyOf(objects));
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  List<GenericKubernetesResource> custom(String kind) {
    return all(GenericKubernetesResource.class).stream().filter(r -> kind.equals(r.getKind())).toList();
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
    return all(type).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst();
  }

  <T extends HasMetadata> T get(Class<T> type, String name) {
    return find(type, name).orElseThrow(() -> new AssertionError(
        "no " + type.getSimpleName() + " " + name + " in " + valuesFile + "; have "
            + all(type).stream().map(o -> o.getMetadata().getName()).toList()));
  }

  List<Deployment> deployments() {
    return all(Deployment.class);
  }

  List<Deployment> workerDeployments() {
    return deployments().stream().filter(d -> "decoder-worker".equals(component(d))).toList();
  }

  static String component(HasMetadata object) {
    return object.getMetadata().getLabels().get("app.kubernetes.io/component");
  }

  /** The service's own container (the first; init containers are separate). */
  static Container mainContainer(Deployment deployment) {
    return deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  static String name(String component) {
    return RELEASE + "-pasta-serve-" + component;
  }

  @Override
  public String toString() {
    return valuesFile;
  }
}
