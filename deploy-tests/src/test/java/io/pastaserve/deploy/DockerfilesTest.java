package io.pastaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The services' Dockerfiles, read as text (no Docker engine here). */
class DockerfilesTest {

  private static final Pattern FROM = Pattern.compile("(?m)^FROM\\s+(\\S+)(?:\\s+AS\\s+(\\S+))?", Pattern.CASE_INSENSITIVE);
  private static final Pattern ARG_DEFAULT = Pattern.compile("(?m)^ARG\\s+(\\w+)=(\\S+)");

  /** A Dockerfile, its module, and the text with line continuations joined. */
  record Dockerfile(String path, String module, String text) {

    static Dockerfile read(String path) {
      try {
        String text = Files.readString(Repository.root().resolve(path)).replace("\\\n", " ");
        return new Dockerfile(path, path.substring(0, path.indexOf('/')), text);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Images of the FROM lines, build arguments resolved to their defaults; stage names excluded. */
    List<String> baseImages() {
      Map<String, String> args = new HashMap<>();
      Matcher arg = ARG_DEFAULT.matcher(text);
      while (arg.find()) {
        args.put(arg.group(1), arg.group(2));
      }
      List<String> stages = FROM.matcher(text).results().map(m -> m.group(2)).filter(s -> s != null).toList();
      return FROM.matcher(text).results().map(m -> m.group(1))
          .map(image -> image.startsWith("${") ? args.get(image.substring(2, image.length() - 1)) : image)
          .filter(image -> !stages.contains(image))
          .toList();
    }

    String lastStage() {
      return text.substring(text.lastIndexOf("\nFROM "));
    }

    @Override
    public String toString() {
      return path;
    }
  }

  static Stream<Dockerfile> dockerfiles() {
    return Stream.of("gateway-service/Dockerfile", "interpreter-service/Dockerfile", "decoder-worker/Dockerfile",
        "decoder-worker/Dockerfile.gpu").map(Dockerfile::read);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dockerfiles")
  void dockerfile_buildsInOneStageAndRunsInAnother(Dockerfile dockerfile) {
    assertThat(FROM.matcher(dockerfile.text()).results().count()).isGreaterThanOrEqualTo(2);
    assertThat(dockerfile.text()).contains("-pl " + dockerfile.module() + " -am package");
    assertThat(dockerfile.lastStage()).contains("COPY --from=build").doesNotContain("mvn ");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dockerfiles")
  void dockerfile_runsTheExecJar_asANonRootUser(Dockerfile dockerfile) {
    assertThat(dockerfile.text()).contains(dockerfile.module() + "/target/" + dockerfile.module() + "-*-exec.jar");
    List<String> users = Pattern.compile("(?m)^USER\\s+(\\S+)").matcher(dockerfile.lastStage()).results()
        .map(m -> m.group(1)).toList();
    assertThat(users).isNotEmpty();
    String user = users.get(users.size() - 1).split(":")[0];
    assertThat(user).isNotIn("root", "0").matches("\\d+"); // numeric, so Kubernetes can check runAsNonRoot
    assertThat(dockerfile.lastStage()).containsPattern("(?m)^ENTRYPOINT \\[\"java\", (\"-D[^\"]+\", )*\"-jar\"");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dockerfiles")
  void dockerfile_hasAHealthCheckOnTheActuator(Dockerfile dockerfile) {
    assertThat(dockerfile.lastStage()).containsPattern("(?m)^HEALTHCHECK .*CMD .*/actuator/health/");
  }

  @Test
  void gatewayImage_checksHealthOnTheManagementPort_andExposesIt() {
    String stage = Dockerfile.read("gateway-service/Dockerfile").lastStage();

    assertThat(stage).containsPattern("(?m)^HEALTHCHECK .*CMD .*:\\$\\{PASTA_GATEWAY_MANAGEMENT_PORT:-9080}/actuator/health/")
        .containsPattern("(?m)^EXPOSE 8080 9080$");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dockerfiles")
  void dockerfile_pinsEveryBaseImage(Dockerfile dockerfile) {
    assertThat(dockerfile.baseImages()).isNotEmpty().allSatisfy(image -> {
      assertThat(image).as("base image").isNotNull().contains(":");
      String tag = image.substring(image.lastIndexOf(':') + 1);
      assertThat(tag).as(image).isNotEqualTo("latest").containsPattern("\\d+\\.\\d+");
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dockerfiles")
  void dockerfile_sizesTheJvmForTheContainer(Dockerfile dockerfile) {
    assertThat(dockerfile.lastStage()).contains("JAVA_TOOL_OPTIONS=").contains("-XX:MaxRAMPercentage=")
        .contains("-XX:+ExitOnOutOfMemoryError");
  }

  @Test
  void workerImages_boundTheKvCacheExplicitly() {
    assertThat(Dockerfile.read("decoder-worker/Dockerfile").lastStage()).contains("-XX:MaxDirectMemorySize=");
    assertThat(Dockerfile.read("decoder-worker/Dockerfile.gpu").lastStage()).contains("-XX:MaxDirectMemorySize=");
  }

  @Test
  void gpuImage_runsOnnxRuntimeForCuda13_onACuda13Cudnn9Runtime_andFallsBackToCpu() {
    Dockerfile gpu = Dockerfile.read("decoder-worker/Dockerfile.gpu");

    assertThat(gpu.baseImages()).anyMatch(image -> image.matches("nvidia/cuda:13\\.\\d+\\.\\d+-cudnn-runtime-ubuntu\\d+\\.\\d+"));
    // the same jar as the CPU image; the CUDA build of ONNX Runtime comes as native libraries beside it
    assertThat(gpu.text()).doesNotContain("-Pcuda")
        .containsPattern("(?m)^RUN .*\\bmvn -B -q dependency:get -Dartifact=org\\.bytedeco:onnxruntime:"
            + "\\$\\{ORT_VERSION}-\\$\\{JAVACPP_VERSION}:jar:linux-x86_64-gpu -Dtransitive=false")
        .containsPattern("\\bmvn -B -q dependency:get -Dartifact=com\\.microsoft\\.onnxruntime:onnxruntime_gpu:"
            + "\\$\\{ORT_VERSION} -Dtransitive=false")
        .contains("ARG ORT_VERSION=" + onnxRuntimeVersionOfTheWorker(), "/root/.m2",
            "libonnxruntime.so.1 /opt/pasta/ort/native/libonnxruntime.so", "libonnxruntime_providers_shared.so",
            "libonnxruntime_providers_cuda.so", "libonnxruntime4j_jni.so");
    assertThat(gpu.lastStage()).startsWith("\nFROM ${CUDA_IMAGE}")
        .contains("COPY --from=build /opt/pasta/ort/native/ ort/native/")
        .contains("PASTA_DEVICE=auto")
        .contains("LD_LIBRARY_PATH=/opt/pasta/ort/native:$LD_LIBRARY_PATH")
        // on the command line: a Helm pool's JAVA_TOOL_OPTIONS replace the image's
        .contains("ENTRYPOINT [\"java\", \"-Donnxruntime.native.path=/opt/pasta/ort/native\", \"-jar\"");
  }

  /** The Java classes in the worker's jar must be those the native libraries were built for. */
  private static String onnxRuntimeVersionOfTheWorker() {
    try {
      Matcher version = Pattern.compile("<onnxruntime\\.version>([^<]+)</onnxruntime\\.version>")
          .matcher(Files.readString(Repository.root().resolve("decoder-worker/pom.xml")));
      assertThat(version.find()).as("onnxruntime.version in decoder-worker/pom.xml").isTrue();
      return version.group(1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void images_buildAndRunOnJava25() {
    for (String path : List.of("gateway-service/Dockerfile", "interpreter-service/Dockerfile", "decoder-worker/Dockerfile",
        "decoder-worker/Dockerfile.gpu")) {
      List<String> images = Dockerfile.read(path).baseImages();
      assertThat(images).as(path).anyMatch(i -> i.startsWith("maven:") && i.endsWith("-eclipse-temurin-25"))
          .anyMatch(i -> i.startsWith("eclipse-temurin:25.") && i.contains("-jre"));
    }
  }

  @Test
  void cpuWorkerImage_runsOnTheCpu() {
    assertThat(Dockerfile.read("decoder-worker/Dockerfile").lastStage()).contains("PASTA_DEVICE=cpu")
        .doesNotContain("PASTA_PROVIDER");
  }

  @Test
  void dockerignore_leavesBuildOutputAndHistoryOutOfTheContext_butKeepsTheModel() throws IOException {
    List<String> lines = Files.readAllLines(Repository.root().resolve(".dockerignore"));

    assertThat(lines).contains("**/target/", ".git/", "!models/pasta-tiny/model.onnx", "!models/pasta-tiny/tokenizer.json");
  }
}
