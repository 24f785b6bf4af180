package io.pastaserve.deploy;

import static io.pastaserve.deploy.RenderedChart.component;
import static io.pastaserve.deploy.RenderedChart.mainContainer;
import static io.pastaserve.deploy.RenderedChart.name;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/** The Helm chart, linted and rendered with each values file by Helm's own engine, checked object by object. */
class HelmChartTest {

  private static final String DEFAULTS = "helm/pasta-serve/ci/default-values.yaml";
  private static final String GPU_POOL = "helm/pasta-serve/ci/gpu-pool-values.yaml";
  private static final String EXISTING_SECRETS = "helm/pasta-serve/ci/existing-secrets-values.yaml";
  private static final String AUTOSCALING_OFF = "helm/pasta-serve/ci/autoscaling-off-values.yaml";
  private static final int DEFAULT_PARTITIONS = 8;

  static Stream<RenderedChart> renders() {
    return RenderedChart.valuesFiles().stream().map(RenderedChart::of);
  }

  @Test
  void lint_reportsNoErrorsOrWarnings() {
    LintResult result = new Helm(Repository.chart()).lint().strict().call();

    assertThat(result.isFailed()).as("%s", result.getMessages()).isFalse();
    assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
  }

  @Test
  void ciScenarios_coverDefaultsGpuPoolExistingSecretsAndAutoscalingOff() {
    assertThat(RenderedChart.valuesFiles()).contains(DEFAULTS, GPU_POOL, EXISTING_SECRETS, AUTOSCALING_OFF);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void everyValuesFile_rendersTheThreeComponents(RenderedChart chart) {
    assertThat(chart.deployments()).extracting(RenderedChart::component)
        .contains("gateway", "interpreter", "decoder-worker");
    assertThat(chart.objects()).allSatisfy(o -> {
      assertThat(o.getMetadata().getName()).hasSizeLessThanOrEqualTo(63);
      assertThat(o.getMetadata().getLabels()).containsEntry("app.kubernetes.io/instance", RenderedChart.RELEASE);
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void everyDeployment_probesLivenessAndReadinessOnItsOwnPort(RenderedChart chart) {
    Map<String, Integer> ports = Map.of("gateway", 8080, "interpreter", 8081, "decoder-worker", 8082);
    for (Deployment deployment : chart.deployments()) {
      Container container = mainContainer(deployment);
      int port = ports.get(component(deployment));
      assertThat(container.getPorts()).extracting(ContainerPort::getName, ContainerPort::getContainerPort)
          .as(deployment.getMetadata().getName()).contains(org.assertj.core.groups.Tuple.tuple("http", port));
      // the gateway's health is on its management port, apart from the API
      String probePort = component(deployment).equals("gateway") ? "management" : "http";
      assertProbe(container.getLivenessProbe(), "/actuator/health/liveness", probePort);
      assertProbe(container.getReadinessProbe(), "/actuator/health/readiness", probePort);
      assertProbe(container.getStartupProbe(), "/actuator/health/liveness", probePort);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void gateway_servesManagementOnAPortOfItsOwn_thatItsServiceNamesApartFromTheApi(RenderedChart chart) {
    Deployment gateway = chart.get(Deployment.class, name("gateway"));
    Container container = mainContainer(gateway);
    assertThat(container.getPorts()).extracting(ContainerPort::getName, ContainerPort::getContainerPort)
        .contains(org.assertj.core.groups.Tuple.tuple("http", 8080),
            org.assertj.core.groups.Tuple.tuple("management", 9080));
    assertThat(container.getEnv()).anySatisfy(e -> assertThat(e.getName() + "=" + e.getValue())
        .isEqualTo("PASTA_GATEWAY_MANAGEMENT_PORT=9080"));
    Service service = chart.get(Service.class, name("gateway"));
    assertThat(service.getSpec().getPorts()).extracting(p -> p.getName(), p -> p.getTargetPort().getStrVal())
        .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("http", "http"),
            org.assertj.core.groups.Tuple.tuple("management", "management"));
  }

  @Test
  void gatewayIngress_routesTheApiAndThePlaygroundOnly_toTheApiPort() {
    RenderedChart chart = RenderedChart.of("helm/examples/production.yaml");

    io.fabric8.kubernetes.api.model.networking.v1.Ingress ingress =
        chart.get(io.fabric8.kubernetes.api.model.networking.v1.Ingress.class, name("gateway"));

    assertThat(ingress.getSpec().getRules()).isNotEmpty().allSatisfy(rule -> {
      assertThat(rule.getHttp().getPaths())
          .extracting(p -> p.getPath(), p -> p.getPathType())
          .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("/v1", "Prefix"),
              org.assertj.core.groups.Tuple.tuple("/", "Exact"),
              org.assertj.core.groups.Tuple.tuple("/playground.css", "Exact"),
              org.assertj.core.groups.Tuple.tuple("/playground.js", "Exact"));
      assertThat(rule.getHttp().getPaths()).allSatisfy(p -> assertThat(p.getBackend().getService().getPort()
          .getName()).isEqualTo("http"));
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void workers_haveAStartupProbeSizedForLoadingTheModel(RenderedChart chart) {
    assertThat(chart.workerDeployments()).isNotEmpty().allSatisfy(worker -> {
      Probe startup = mainContainer(worker).getStartupProbe();
      int budgetSeconds = startup.getInitialDelaySeconds() + startup.getPeriodSeconds() * startup.getFailureThreshold();
      assertThat(budgetSeconds).as("start-up budget of %s", worker.getMetadata().getName()).isGreaterThanOrEqualTo(120);
      // liveness only counts once the startup probe passed, so a slow model load never restarts the pod
      assertThat(mainContainer(worker).getLivenessProbe().getInitialDelaySeconds()).isZero();
    });
  }

  @Test
  void startupProbe_followsTheValues() {
    Deployment gpu = RenderedChart.of("helm/examples/gpu-pool.yaml").get(Deployment.class, name("worker-gpu"));

    Probe startup = mainContainer(gpu).getStartupProbe();

    assertThat(startup.getPeriodSeconds() * startup.getFailureThreshold()).isEqualTo(600);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void everyContainer_hasCpuAndMemoryRequestsAndAMemoryLimit(RenderedChart chart) {
    for (Deployment deployment : chart.deployments()) {
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();
      for (Container container : Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream()).toList()) {
        String what = deployment.getMetadata().getName() + "/" + container.getName();
        assertThat(container.getResources().getRequests()).as(what).containsKeys("cpu", "memory");
        assertThat(container.getResources().getLimits()).as(what).containsKey("memory");
        assertThat(Quantity.getAmountInBytes(container.getResources().getLimits().get("memory")))
            .as(what).isGreaterThanOrEqualTo(Quantity.getAmountInBytes(container.getResources().getRequests().get("memory")));
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void deploymentSelectors_matchTheirPodLabels(RenderedChart chart) {
    for (Deployment deployment : chart.deployments()) {
      Map<String, String> selector = deployment.getSpec().getSelector().getMatchLabels();
      assertThat(selector).as(deployment.getMetadata().getName()).isNotEmpty();
      assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(selector);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void services_selectPodsThatExist_onAPortTheyExpose(RenderedChart chart) {
    assertThat(chart.all(Service.class)).hasSize(chart.deployments().size());
    for (Service service : chart.all(Service.class)) {
      Deployment target = podsSelectedBy(chart, service.getSpec().getSelector(), service);
      assertThat(service.getSpec().getPorts()).allSatisfy(port -> assertThat(mainContainer(target).getPorts())
          .extracting(ContainerPort::getName).contains(port.getTargetPort().getStrVal()));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void podDisruptionBudgets_coverEveryComponent(RenderedChart chart) {
    List<PodDisruptionBudget> budgets = chart.all(PodDisruptionBudget.class);
    assertThat(budgets).hasSize(chart.deployments().size());
    budgets.forEach(pdb -> podsSelectedBy(chart, pdb.getSpec().getSelector().getMatchLabels(), pdb));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void networkPolicies_selectEveryComponent_andOpenOnlyTheHttpAndManagementPorts(RenderedChart chart) {
    List<NetworkPolicy> policies = chart.all(NetworkPolicy.class);
    assertThat(policies).extracting(RenderedChart::component)
        .containsExactlyInAnyOrder("gateway", "interpreter", "decoder-worker");
    for (Deployment deployment : chart.deployments()) {
      assertThat(policies).as(deployment.getMetadata().getName()).anyMatch(p -> deployment.getSpec().getTemplate()
          .getMetadata().getLabels().entrySet().containsAll(p.getSpec().getPodSelector().getMatchLabels().entrySet()));
    }
    for (NetworkPolicy policy : policies) {
      // the gateway's management port is open to whoever may read metrics, as the other components' ports are
      List<String> open = component(policy).equals("gateway") ? List.of("http", "management") : List.of("http");
      assertThat(policy.getSpec().getIngress()).as(policy.getMetadata().getName())
          .flatExtracting(rule -> rule.getPorts()).extracting(port -> port.getPort().getStrVal())
          .containsExactlyElementsOf(open);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void images_arePinned_neverLatest(RenderedChart chart) {
    for (Deployment deployment : chart.deployments()) {
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();
      Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream()).map(Container::getImage)
          .forEach(image -> {
            String tag = image.contains("@") ? image.substring(image.indexOf('@') + 1)
                : image.substring(image.lastIndexOf('/') + 1).contains(":") ? image.substring(image.lastIndexOf(':') + 1) : "";
            assertThat(tag).as("tag of %s", image).isNotBlank().isNotEqualTo("latest");
          });
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void pods_runAsNonRoot_withAReadOnlyRootFileSystem(RenderedChart chart) {
    for (Deployment deployment : chart.deployments()) {
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();
      assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
      assertThat(pod.getContainers()).allSatisfy(c -> {
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getVolumeMounts()).anyMatch(m -> m.getMountPath().equals("/tmp"));
      });
    }
  }

  @Test
  void gpuPool_requestsNvidiaGpu_andTheCpuPoolDoesNot() {
    RenderedChart chart = RenderedChart.of(GPU_POOL);
    Deployment gpu = chart.get(Deployment.class, name("worker-gpu"));
    Deployment cpu = chart.get(Deployment.class, name("worker-cpu"));

    Container worker = mainContainer(gpu);
    assertThat(worker.getResources().getRequests()).containsEntry("nvidia.com/gpu", new Quantity("1"));
    assertThat(worker.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
    assertThat(worker.getImage()).contains("decoder-worker-cuda:");
    assertThat(gpu.getSpec().getTemplate().getSpec().getTolerations()).anyMatch(t -> "nvidia.com/gpu".equals(t.getKey()));
    assertThat(workerConfig(chart, "worker-gpu")).containsEntry("device", "cuda").containsEntry("runner", "binding")
        .containsEntry("max-batch", 64);
    assertThat(workerConfig(chart, "worker-cpu")).containsEntry("device", "cpu");
    assertThat(mainContainer(cpu).getResources().getRequests()).doesNotContainKey("nvidia.com/gpu");
    assertThat(mainContainer(cpu).getImage()).contains("/decoder-worker:");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void workerPools_scaleOnRunningRequestsAndTheSpanTopicsLag_upToItsPartitions(RenderedChart chart) {
    List<GenericKubernetesResource> scaledObjects = chart.custom("ScaledObject");
    if (scaledObjects.isEmpty()) {
      assertThat(chart.valuesFile()).isEqualTo(AUTOSCALING_OFF);
      return;
    }
    int partitions = partitions(chart);
    int total = 0;
    assertThat(scaledObjects).hasSameSizeAs(chart.workerDeployments());
    for (GenericKubernetesResource scaledObject : scaledObjects) {
      Map<String, Object> spec = map(scaledObject.getAdditionalProperties().get("spec"));
      Map<String, Object> target = map(spec.get("scaleTargetRef"));
      assertThat(target).containsEntry("kind", "Deployment").containsEntry("apiVersion", "apps/v1");
      chart.get(Deployment.class, (String) target.get("name"));
      int max = ((Number) spec.get("maxReplicaCount")).intValue();
      assertThat(((Number) spec.get("minReplicaCount")).intValue()).isBetween(1, max);
      assertThat(max).isLessThanOrEqualTo(partitions);
      total += max;
      List<Object> triggers = list(spec.get("triggers"));
      assertThat(triggers).hasSize(2);
      // the load: requests running in the suite, from the interpreter Service's metrics endpoint
      assertThat(map(triggers.get(0))).containsEntry("type", "metrics-api");
      Map<String, Object> load = map(map(triggers.get(0)).get("metadata"));
      Service interpreter = chart.all(Service.class).stream()
          .filter(svc -> svc.getMetadata().getName().endsWith("-interpreter")).findFirst().orElseThrow();
      assertThat(load)
          .containsEntry("url", "http://" + interpreter.getMetadata().getName() + ".pasta.svc:"
              + interpreter.getSpec().getPorts().get(0).getPort() + "/actuator/metrics/pasta.requests.running")
          .containsEntry("valueLocation", "measurements.0.value")
          .containsKey("targetValue");
      // requests no worker has room for
      assertThat(map(triggers.get(1))).containsEntry("type", "kafka");
      assertThat(map(map(triggers.get(1)).get("metadata")))
          .containsEntry("topic", "pasta.span-jobs")
          .containsEntry("consumerGroup", "pasta-workers")
          .containsEntry("allowIdleConsumers", "false")
          .containsKey("lagThreshold");
    }
    assertThat(total).as("workers of all pools together").isLessThanOrEqualTo(partitions);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renders")
  void everyComponent_usesTheSameTopicPartitions_andModelName(RenderedChart chart) {
    int partitions = partitions(chart);
    assertThat(chart.workerDeployments()).allSatisfy(worker -> {
      String pool = worker.getMetadata().getLabels().get("pasta-serve.io/worker-pool");
      assertThat(workerConfig(chart, "worker-" + pool)).containsEntry("topic-partitions", partitions);
    });
    Map<String, Object> gateway = config(chart, "gateway", "gateway");
    assertThat(gateway).containsEntry("topic-partitions", partitions);
    assertThat(config(chart, "interpreter", "interpreter")).containsEntry("topic-partitions", partitions);
    assertThat(chart.workerDeployments()).allSatisfy(worker -> assertThat(
        workerConfig(chart, "worker-" + worker.getMetadata().getLabels().get("pasta-serve.io/worker-pool")))
        .containsEntry("model-name", gateway.get("model-name")));
  }

  @Test
  void threadPools_areSizedByTheCpuRequest_notByTheNodesCores() {
    RenderedChart chart = RenderedChart.of(GPU_POOL);

    Container gpu = mainContainer(chart.get(Deployment.class, name("worker-gpu")));

    assertThat(workerConfig(chart, "worker-gpu")).containsEntry("intra-op-threads", 4);
    assertThat(workerConfig(chart, "worker-cpu")).containsEntry("intra-op-threads", 2);
    assertThat(env(gpu, "JAVA_TOOL_OPTIONS").getValue()).contains("-XX:ActiveProcessorCount=4", "-XX:MaxDirectMemorySize=4g");
  }

  @Test
  void gatewayAutoscaler_targetsTheGatewayByDefault() {
    RenderedChart chart = RenderedChart.of(DEFAULTS);

    HorizontalPodAutoscaler hpa = chart.get(HorizontalPodAutoscaler.class, name("gateway"));

    assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(name("gateway"));
    assertThat(hpa.getSpec().getMinReplicas()).isPositive();
    assertThat(chart.get(Deployment.class, name("gateway")).getSpec().getReplicas())
        .as("the autoscaler owns the replica count").isNull();
  }

  @Test
  void autoscalingOff_rendersNoAutoscalers_andFixedReplicas() {
    RenderedChart chart = RenderedChart.of(AUTOSCALING_OFF);

    assertThat(chart.all(HorizontalPodAutoscaler.class)).isEmpty();
    assertThat(chart.custom("ScaledObject")).isEmpty();
    assertThat(chart.get(Deployment.class, name("gateway")).getSpec().getReplicas()).isEqualTo(2);
    assertThat(chart.get(Deployment.class, name("worker-cpu")).getSpec().getReplicas()).isEqualTo(3);
  }

  @Test
  void defaults_generateTheApiKeySecret_thatTheGatewayReads() {
    RenderedChart chart = RenderedChart.of(DEFAULTS);

    Secret keys = chart.get(Secret.class, name("api-keys"));

    assertThat(keys.getData()).containsKey("api-keys");
    assertThat(env(mainContainer(chart.get(Deployment.class, name("gateway"))), "PASTA_API_KEYS")
        .getValueFrom().getSecretKeyRef()).satisfies(ref -> {
          assertThat(ref.getName()).isEqualTo(name("api-keys"));
          assertThat(ref.getKey()).isEqualTo("api-keys");
        });
  }

  @Test
  void existingSecrets_areReferencedByName_andNoneIsRendered() {
    RenderedChart chart = RenderedChart.of(EXISTING_SECRETS);

    assertThat(chart.all(Secret.class)).isEmpty();
    Container gateway = mainContainer(chart.get(Deployment.class, name("gateway")));
    assertSecretRef(env(gateway, "PASTA_API_KEYS"), "pasta-api-keys", "keys");
    for (Deployment deployment : chart.deployments()) {
      Container container = mainContainer(deployment);
      assertSecretRef(env(container, "SPRING_DATA_REDIS_PASSWORD"), "pasta-redis", "password");
      assertSecretRef(env(container, "KAFKA_SASL_USERNAME"), "pasta-kafka-user", "user");
      assertSecretRef(env(container, "KAFKA_SASL_PASSWORD"), "pasta-kafka-user", "password");
      assertThat(env(container, "SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL").getValue()).isEqualTo("SASL_SSL");
      assertThat(env(container, "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG").getValue())
          .startsWith("org.apache.kafka.common.security.scram.ScramLoginModule required")
          .contains("$(KAFKA_SASL_USERNAME)", "$(KAFKA_SASL_PASSWORD)");
      assertThat(deployment.getSpec().getTemplate().getSpec().getVolumes())
          .anyMatch(v -> v.getSecret() != null && "kafka-cluster-ca-cert".equals(v.getSecret().getSecretName()));
    }
    GenericKubernetesResource auth = chart.custom("TriggerAuthentication").get(0);
    assertThat(list(map(auth.getAdditionalProperties().get("spec")).get("secretTargetRef")))
        .extracting(r -> map(r).get("name")).contains("pasta-kafka-user", "kafka-cluster-ca-cert");
  }

  @Test
  void serviceMonitors_scrapePrometheusMetricsOfServicesThatExist() {
    RenderedChart chart = RenderedChart.of(GPU_POOL);

    List<GenericKubernetesResource> monitors = chart.custom("ServiceMonitor");

    assertThat(monitors).isNotEmpty();
    for (GenericKubernetesResource monitor : monitors) {
      Map<String, Object> spec = map(monitor.getAdditionalProperties().get("spec"));
      Map<String, Object> selector = map(map(spec.get("selector")).get("matchLabels"));
      assertThat(chart.all(Service.class)).anyMatch(s -> s.getMetadata().getLabels().entrySet().containsAll(selector.entrySet()));
      String port = component(monitor).equals("gateway") ? "management" : "http";
      assertThat(list(spec.get("endpoints"))).singleElement().satisfies(e -> assertThat(map(e))
          .containsEntry("port", port).containsEntry("path", "/actuator/prometheus"));
      assertThat(chart.all(Service.class)).filteredOn(s -> s.getMetadata().getLabels().entrySet()
          .containsAll(selector.entrySet())).allSatisfy(s -> assertThat(s.getSpec().getPorts())
              .extracting(p -> p.getName()).contains(port));
    }
  }

  @Test
  void modelFromAPersistentVolumeClaim_isMountedReadOnly_whereTheServicesLook() {
    RenderedChart chart = RenderedChart.of("helm/examples/model-pvc.yaml");

    for (String component : List.of("gateway", "worker-cpu")) {
      Deployment deployment = chart.get(Deployment.class, name(component));
      assertThat(deployment.getSpec().getTemplate().getSpec().getVolumes())
          .anyMatch(v -> v.getPersistentVolumeClaim() != null && "pasta-models".equals(v.getPersistentVolumeClaim().getClaimName()));
      Container container = mainContainer(deployment);
      assertThat(container.getVolumeMounts()).anySatisfy(m -> {
        assertThat(m.getMountPath()).isEqualTo("/models/my-model");
        assertThat(m.getReadOnly()).isTrue();
        assertThat(m.getSubPath()).isEqualTo("my-model");
      });
      assertThat(env(container, "PASTA_MODEL_DIR").getValue()).isEqualTo("/models/my-model");
    }
  }

  @Test
  void modelFromAnInitContainer_isWrittenIntoTheVolumeTheWorkerReads() {
    Deployment worker = RenderedChart.of("helm/examples/model-init-container.yaml").get(Deployment.class, name("worker-cpu"));

    Container init = worker.getSpec().getTemplate().getSpec().getInitContainers().get(0);

    assertThat(init.getVolumeMounts()).anyMatch(m -> m.getName().equals("model") && m.getMountPath().equals("/models/my-model"));
    assertThat(env(init, "MODEL_DIR").getValue()).isEqualTo("/models/my-model");
    assertThat(env(mainContainer(worker), "PASTA_MODEL_DIR").getValue()).isEqualTo("/models/my-model");
  }

  @Test
  void schema_rejectsReplicasGivenAsText() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("gateway.replicas", "two").call())
        .hasMessageContaining("gateway").hasMessageContaining("replicas");
  }

  @Test
  void workerPools_passTheirDeviceAndRunner_toTheWorker() {
    RenderedChart chart = RenderedChart.parse(DEFAULTS, RenderedChart.template(DEFAULTS)
        .set("decoderWorker.poolDefaults.device", "auto").set("decoderWorker.poolDefaults.runner", "java").call());

    assertThat(chart.workerDeployments()).isNotEmpty().allSatisfy(worker -> assertThat(
        workerConfig(chart, "worker-" + worker.getMetadata().getLabels().get("pasta-serve.io/worker-pool")))
        .containsEntry("device", "auto").containsEntry("runner", "java").doesNotContainKey("provider"));
  }

  @Test
  void schema_rejectsAnUnknownWorkerDevice() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("decoderWorker.poolDefaults.device", "tpu").call())
        .hasMessageContaining("device");
  }

  @Test
  void schema_rejectsAnUnknownWorkerRunner() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("decoderWorker.poolDefaults.runner", "python").call())
        .hasMessageContaining("runner");
  }

  @Test
  void schema_rejectsTheFormerProviderKey() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("decoderWorker.poolDefaults.provider", "cpu").call())
        .hasMessageContaining("provider");
  }

  @Test
  void chart_refusesTheLatestTag() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("gateway.image.tag", "latest").call())
        .hasMessageContaining("tag");
  }

  @Test
  void chart_refusesPoolsThatCouldRunMoreWorkersThanPartitions() {
    assertThatThrownBy(() -> RenderedChart.template(GPU_POOL).set("kafka.topicPartitions", "6").call())
        .hasMessageContaining("partitions");
  }

  @Test
  void chart_refusesAPvcModelWithoutAClaim() {
    assertThatThrownBy(() -> RenderedChart.template(DEFAULTS).set("model.source", "pvc").call())
        .hasMessageContaining("claimName");
  }

  private static void assertProbe(Probe probe, String path, String port) {
    assertThat(probe).isNotNull();
    assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
    assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo(port);
    assertThat(probe.getPeriodSeconds()).isPositive();
    assertThat(probe.getFailureThreshold()).isPositive();
  }

  private static void assertSecretRef(EnvVar env, String secret, String key) {
    assertThat(env.getValueFrom().getSecretKeyRef().getName()).as(env.getName()).isEqualTo(secret);
    assertThat(env.getValueFrom().getSecretKeyRef().getKey()).as(env.getName()).isEqualTo(key);
  }

  private static Deployment podsSelectedBy(RenderedChart chart, Map<String, String> selector, HasMetadata by) {
    assertThat(selector).as(by.getMetadata().getName()).isNotEmpty();
    List<Deployment> selected = chart.deployments().stream()
        .filter(d -> d.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(selector.entrySet()))
        .toList();
    assertThat(selected).as("pods selected by %s %s", by.getKind(), by.getMetadata().getName()).hasSize(1);
    return selected.get(0);
  }

  private static EnvVar env(Container container, String name) {
    return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError(container.getName() + " has no " + name));
  }

  private static int partitions(RenderedChart chart) {
    return ((Number) config(chart, "interpreter", "interpreter").getOrDefault("topic-partitions", DEFAULT_PARTITIONS)).intValue();
  }

  private static Map<String, Object> workerConfig(RenderedChart chart, String component) {
    return config(chart, component, "worker");
  }

  /** pasta.{section}.* of a component's application.yml. */
  private static Map<String, Object> config(RenderedChart chart, String component, String section) {
    ConfigMap configMap = chart.get(ConfigMap.class, name(component));
    Map<String, Object> yml = new Yaml().load(configMap.getData().get("application.yml"));
    return map(map(yml.get("pasta")).get(section));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value) {
    assertThat(value).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object value) {
    assertThat(value).isInstanceOf(List.class);
    return (List<Object>) value;
  }
}
