package io.pastaserve.deploy;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the repository the deployment files live in (tests run in deploy-tests/). */
final class Repository {

  private Repository() {}

  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("helm/pasta-serve"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("no helm/pasta-serve above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  static Path chart() {
    return root().resolve("helm/pasta-serve");
  }
}
