package io.pastaserve.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceProcessTest {

  /**
   * Services of one suite are started in parallel, each on ports asked for a moment before it binds them. The kernel
   * hands a just-closed ephemeral port out again readily (hundreds of repeats in 3,000 asks on Linux); a gateway
   * whose management port was also a worker's port would read the worker's health as its own and be taken as started
   * while it failed to start.
   */
  @Test
  void freePortNeverHandsOutAPortTwice() throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      ports.add(ServiceProcess.freePort());
    }
    assertThat(ports).doesNotHaveDuplicates();
  }
}
