package io.pastaserve.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * {@code bin/pasta COMMAND ...}. Exit status: 0 success, 1 an input could not be read or processed, 2 bad
 * arguments.
 */
public final class PastaCli {

  static final String USAGE = """
      usage: pasta COMMAND [ARGS]
        lang assemble FILE|-   print the assembled text of a flat PASTA-LANG transcript
        lang plan FILE|-       print the span tree and plan statistics as JSON
        generate --prompt TEXT [--mode async|serial] [--max-tokens N] [--temperature T] [--top-p P]
                 [--top-k K] [--seed S] [--json]
                               one answer from the in-process engine
        bench --prompts FILE [--replay] [--repeat N] [--warmup N] [--max-tokens N] [--json]
                               serial vs async on every prompt, side by side
        bench --step-times [--batches 1,4,16,64,256] [--pasts 128,512] [--steps N] [--invariance 64]
                 [--label L] [--json]
                               ms per decode step of the model alone, by batch and past length (after the
                               parity check against PyTorch when the model has a parity.bin); --invariance B:
                               a row's logits alone against beside B-1 rows of other lengths
        bench --throughput --prompts FILE [--concurrency 1,4,16,64] [--max-tokens N]
                               tokens/s of the in-process engine by concurrent requests, serial and async
        bench --overhead [--batches LIST] [--steps N] [--prompts TRANSCRIPTS] [--json]
                               the engine against a bare loop of the same runner; fork and join cost
        bench --prefix-kv [--redis HOST:PORT] [--lengths 64,256,1024] [--repeat N]
                               a span's prefix by prefill against its KV stored in and loaded from Redis
        bench --remote-forks --prompts FILE [--redis HOST:PORT] [--repeat N] [--max-tokens N]
                               two engines, every fork placed on the other through Redis: promise -> fork's
                               first token with token ids against the parent's cache
        load --prompts FILE [--url URL] [--api-key KEY] [--model NAME] [--mode async|serial|both]
             [--concurrency LIST] [--rates LIST] [--requests N] [--max-tokens N] [--temperature T]
             [--seed S] [--slo-ttft SECONDS] [--slo-itl SECONDS] [--timeout SECONDS] [--json]
                               load on a running gateway (bin/pasta up): TTFT, ITL, latency, tokens/s
                               and goodput per mode and level, async vs serial side by side
        chaos [--quick]        start the suite, inject faults under load (worker and interpreter kill -9,
                               Redis and broker restarts, clients hanging up); exit 1 when a request hung
                               or lost text or the suite did not recover (docs/RELIABILITY.md)
        soak [--requests N] [--concurrency C] [--max-tokens T] [--sample-every S]
                               start the suite, run N requests (10000), and check that heap after GC,
                               KV cache and Redis keys come back down (docs/RELIABILITY.md)
        placement [--placements local,spread,auto] [--max-batch 4] [--busy N] [--repeat 2]
                               start the suite per fork placement, two workers, one kept busy: latency of
                               requests with 6+ forks, forks decoded elsewhere, promise -> fork's first token
        up                     run the suite locally (bin/pasta script)
        test                   run every test (bin/pasta script)
      lang options: --max-spans N  --max-depth N  --max-topic-length N
      model options (generate, bench): --model DIR (default: the bundled models/pasta-tiny)
                    --device cpu|cuda|auto  --runner binding|java
                    --threads N (ONNX Runtime intra-op threads; 0: its default)
      load options: --url (default http://127.0.0.1:8080)  --api-key (default: $PASTA_API_KEY)
                    --model NAME (default pasta-tiny)  --mode (default both)
                    --concurrency 1,4,16,64 (closed loop)  --rates 0.5,1,2 (Poisson, requests/s; default none)
                    none skips either list  --requests 32 (per level; at least 2x concurrency)
                    --max-tokens 256  --temperature 0  --seed 0 (also seeds the arrival schedule)
                    --slo-ttft 1.0  --slo-itl 0.1 (seconds, for goodput)  --timeout 120 (seconds per request)""";

  private final InputStream in;
  private final PrintStream out;
  private final PrintStream err;

  PastaCli(InputStream in, PrintStream out, PrintStream err) {
    this.in = in;
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
        StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true,
        StandardCharsets.UTF_8);
    int status = new PastaCli(System.in, out, err).run(args);
    out.flush();
    System.exit(status);
  }

  int run(String... args) {
    try {
      if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
        if (args.length == 0) {
          throw new UsageException("missing command; try 'pasta --help'");
        }
        out.println(USAGE);
        return 0;
      }
      List<String> rest = Arrays.asList(args).subList(1, args.length);
      switch (args[0]) {
        case "lang" -> new LangCommand(in, out).run(rest);
        case "generate" -> new GenerateCommand(out).run(rest);
        case "bench" -> new BenchCommand(out).run(rest);
        case "load" -> new LoadCommand(out).run(rest);
        case "chaos" -> {
          try {
            return new io.pastaserve.cli.chaos.ChaosCommand(out).run(rest);
          } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
          }
        }
        case "soak" -> {
          try {
            return new io.pastaserve.cli.chaos.SoakCommand(out).run(rest);
          } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
          }
        }
        case "placement" -> {
          try {
            return new io.pastaserve.cli.chaos.PlacementCommand(out).run(rest);
          } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
          }
        }
        default -> throw new UsageException("unknown command '" + args[0] + "'; try 'pasta --help'");
      }
      return 0;
    } catch (UsageException e) {
      err.println("pasta: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println("pasta: " + e.getMessage());
      return 1;
    }
  }
}
