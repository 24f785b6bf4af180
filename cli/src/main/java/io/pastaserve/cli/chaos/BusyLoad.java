package io.pastaserve.cli.chaos;

import io.pastaserve.cli.SuiteRequests;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps one decoder worker busy: {@code clients} threads, each replaying a long answer in serial mode on the
 * worker that owns a given span-job partition, and the next one as soon as it ends, until closed.
 */
final class BusyLoad implements AutoCloseable {

  private final SuiteRequests requests;
  private final List<String> transcripts;
  private final int clients;
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicInteger served = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();

  BusyLoad(SuiteRequests requests, List<String> transcripts, int clients) {
    this.requests = requests;
    this.transcripts = List.copyOf(transcripts);
    this.clients = clients;
  }

  /** Starts the clients, their requests on {@code partition}. */
  void start(int partition) {
    running.set(true);
    for (int c = 0; c < clients; c++) {
      String transcript = transcripts.get(c % transcripts.size());
      Thread t = new Thread(() -> {
        while (running.get()) {
          try {
            requests.replay(requests.idOn(partition), transcript, 4096);
            served.incrementAndGet();
          } catch (InterruptedException e) {
            return;
          } catch (Exception e) {
            if (running.get()) {
              failed.incrementAndGet();
            }
          }
        }
      }, "pasta-busy-load-" + c);
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
  }

  /** Busy requests that ended so far. */
  int served() {
    return served.get();
  }

  /** Busy requests that failed while the load ran. */
  int failed() {
    return failed.get();
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    for (Thread t : threads) {
      t.interrupt();
      t.join(5_000);
    }
  }
}
