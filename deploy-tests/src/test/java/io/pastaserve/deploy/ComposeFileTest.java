package io.pastaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker-compose.yml, read as YAML (no Docker engine here): the suite's services, their health checks, start order,
 * memory limits, the bundled model's mount and the GPU profile.
 */
class ComposeFileTest {

  private static final List<String> CPU_WORKERS = List.of("worker-1", "worker-2");

  private static Map<String, Object> compose;
  private static Map<String, Object> services;

  @BeforeAll
  static void load() throws IOException {
    compose = new Yaml().load(Files.readString(Repository.root().resolve("docker-compose.yml")));
    services = map(compose.get("services"));
  }

  @Test
  void compose_runsKafkaRedisTheInterpreterTwoWorkersAndTheGateway() {
    assertThat(services).containsKeys("kafka", "redis", "interpreter", "worker-1", "worker-2", "gateway");
  }

  @Test
  void everyService_hasAHealthCheck() {
    services.forEach((name, service) -> {
      Map<String, Object> healthcheck = map(map(service).get("healthcheck"));
      assertThat(list(healthcheck.get("test"))).as(name).isNotEmpty();
      assertThat(healthcheck).as(name).containsKeys("interval", "timeout", "retries");
    });
  }

  @Test
  void everyDependency_waitsUntilTheServiceItNeedsIsHealthy() {
    services.forEach((name, service) -> {
      Object dependsOn = map(service).get("depends_on");
      if (dependsOn == null) {
        return;
      }
      map(dependsOn).forEach((dependency, condition) -> {
        assertThat(services).as("%s depends on %s", name, dependency).containsKey(dependency);
        assertThat(map(condition)).as("%s -> %s", name, dependency).containsEntry("condition", "service_healthy");
      });
    });
    for (String service : List.of("interpreter", "gateway", "worker-1", "worker-2", "worker-gpu")) {
      assertThat(map(map(services.get(service)).get("depends_on"))).as(service).containsKeys("kafka", "redis");
    }
    assertThat(map(map(services.get("gateway")).get("depends_on"))).containsKeys("interpreter", "worker-1");
  }

  @Test
  void everyService_hasAMemoryLimit() {
    services.forEach((name, service) -> assertThat(memoryLimit(map(service))).as(name).matches("\\d+[mg]"));
  }

  @Test
  void redis_persistsEveryWrite_inAnAppendOnlyFile_onAVolume() {
    Map<String, Object> redis = map(services.get("redis"));
    String command = String.join(" ", strings(redis.get("command")));

    assertThat(command).contains("--appendonly yes").doesNotContain("--appendonly no");
    assertThat(strings(redis.get("volumes"))).anyMatch(v -> v.endsWith(":/data"));
    String volume = strings(redis.get("volumes")).stream().filter(v -> v.endsWith(":/data")).findFirst()
        .orElseThrow().split(":")[0];
    assertThat(map(compose.get("volumes"))).containsKey(volume);
  }

  @Test
  void gateway_publishesOnlyItsApiPort_onLoopback() {
    List<String> ports = strings(map(services.get("gateway")).get("ports"));

    assertThat(ports).singleElement().satisfies(p -> assertThat(p).startsWith("127.0.0.1:").endsWith(":8080"));
  }

  @Test
  void healthChecks_askForReadiness_onTheServicesOwnPorts_theGatewaysManagementPort() {
    Map<String, String> readiness = Map.of(
        "gateway", "127.0.0.1:9080/actuator/health/readiness",
        "interpreter", "127.0.0.1:8081/actuator/health/readiness",
        "worker-1", "127.0.0.1:8082/actuator/health/readiness",
        "worker-2", "127.0.0.1:8082/actuator/health/readiness",
        "worker-gpu", "127.0.0.1:8082/actuator/health/readiness");
    readiness.forEach((name, url) ->
        assertThat(String.join(" ", strings(map(map(services.get(name)).get("healthcheck")).get("test")))).contains(url));
  }

  @Test
  void workersAndGateway_readTheBundledModel_mountedReadOnly() {
    for (String name : List.of("worker-1", "worker-2", "worker-gpu", "gateway")) {
      Map<String, Object> service = map(services.get(name));
      assertThat(strings(service.get("volumes"))).as(name).contains("./models/pasta-tiny:/models/pasta-tiny:ro");
      assertThat(map(service.get("environment"))).as(name).containsEntry("PASTA_MODEL_DIR", "/models/pasta-tiny");
    }
    assertThat(Repository.root().resolve("models/pasta-tiny/config.json")).exists();
  }

  @Test
  void services_reachKafkaAndRedisByServiceName() {
    for (String name : List.of("interpreter", "gateway", "worker-1", "worker-2", "worker-gpu")) {
      Map<String, Object> environment = map(map(services.get(name)).get("environment"));
      assertThat(environment).as(name).containsEntry("PASTA_KAFKA", "kafka:9092").containsEntry("PASTA_REDIS_HOST", "redis");
    }
  }

  @Test
  void workers_haveDistinctHostnames_thatBeginTheirIds() {
    List<Object> hostnames = List.of("worker-1", "worker-2", "worker-gpu").stream()
        .map(name -> map(services.get(name)).get("hostname")).toList();
    assertThat(hostnames).doesNotContainNull().doesNotHaveDuplicates();
  }

  @Test
  void gpuWorker_startsOnlyWithTheGpuProfile_andReservesAnNvidiaGpu() {
    Map<String, Object> gpu = map(services.get("worker-gpu"));

    assertThat(strings(gpu.get("profiles"))).containsExactly("gpu");
    Map<String, Object> device = map(list(map(map(map(gpu.get("deploy")).get("resources")).get("reservations"))
        .get("devices")).get(0));
    assertThat(device).containsEntry("driver", "nvidia");
    assertThat(strings(device.get("capabilities"))).contains("gpu");
    assertThat(map(gpu.get("build"))).containsEntry("dockerfile", "decoder-worker/Dockerfile.gpu");
    assertThat(map(gpu.get("environment"))).containsEntry("PASTA_DEVICE", "auto");
    services.forEach((name, service) -> {
      if (!name.equals("worker-gpu")) {
        assertThat(map(service)).as(name).doesNotContainKey("profiles");
      }
    });
  }

  @Test
  void builtServices_useTheirDockerfile_fromTheRepositoryRoot() {
    Map<String, String> dockerfiles = Map.of(
        "gateway", "gateway-service/Dockerfile",
        "interpreter", "interpreter-service/Dockerfile",
        "worker-1", "decoder-worker/Dockerfile",
        "worker-2", "decoder-worker/Dockerfile");
    dockerfiles.forEach((name, dockerfile) -> {
      Map<String, Object> build = map(map(services.get(name)).get("build"));
      assertThat(build).as(name).containsEntry("context", ".").containsEntry("dockerfile", dockerfile);
      assertThat(Repository.root().resolve(dockerfile)).exists();
    });
  }

  @Test
  void images_arePinned() {
    services.forEach((name, service) -> {
      String image = (String) map(service).get("image");
      assertThat(image).as(name).isNotBlank().contains(":").doesNotEndWith(":latest");
    });
  }

  @Test
  void gateway_needsApiKeys_andPublishesItsPort() {
    Map<String, Object> gateway = map(services.get("gateway"));

    assertThat((String) map(gateway.get("environment")).get("PASTA_API_KEYS")).startsWith("${PASTA_API_KEYS:?");
    assertThat(strings(gateway.get("ports"))).anyMatch(p -> p.endsWith(":8080"));
  }

  @Test
  void cpuWorkers_runOnTheCpu() {
    for (String name : CPU_WORKERS) {
      assertThat(map(map(services.get(name)).get("environment"))).as(name).containsEntry("PASTA_DEVICE", "cpu")
          .doesNotContainKey("PASTA_PROVIDER");
    }
  }

  private static String memoryLimit(Map<String, Object> service) {
    if (service.get("mem_limit") != null) {
      return service.get("mem_limit").toString();
    }
    return map(map(map(service.get("deploy")).get("resources")).get("limits")).get("memory").toString();
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

  private static List<String> strings(Object value) {
    return list(value).stream().map(String::valueOf).toList();
  }
}
