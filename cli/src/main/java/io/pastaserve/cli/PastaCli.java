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
        up                     run the suite locally (bin/pasta script)
      lang options: --max-spans N  --max-depth N  --max-topic-length N""";

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
