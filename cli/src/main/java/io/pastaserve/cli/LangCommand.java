package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.lang.ApproximateTokenCounter;
import io.pastaserve.common.lang.Diagnostic;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.PlanStats;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.lang.Span;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.lang.TokenCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** {@code pasta lang assemble|plan FILE|-}: reads a flat transcript and prints its answer or its plan. */
final class LangCommand {

  private final InputStream in;
  private final PrintStream out;

  LangCommand(InputStream in, PrintStream out) {
    this.in = in;
    this.out = out;
  }

  void run(List<String> args) throws UsageException, IOException {
    if (args.isEmpty()) {
      throw new UsageException("lang needs a subcommand: assemble or plan");
    }
    String sub = args.get(0);
    if (!sub.equals("assemble") && !sub.equals("plan")) {
      throw new UsageException("unknown lang subcommand '" + sub + "'; expected assemble or plan");
    }
    int maxSpans = PastaLimits.DEFAULT_MAX_SPANS;
    int maxDepth = PastaLimits.DEFAULT_MAX_DEPTH;
    int maxTopic = PastaLimits.DEFAULT_MAX_TOPIC_LENGTH;
    String file = null;
    for (int i = 1; i < args.size(); i++) {
      String a = args.get(i);
      switch (a) {
        case "--max-spans" -> maxSpans = intOption(args, ++i, a);
        case "--max-depth" -> maxDepth = intOption(args, ++i, a);
        case "--max-topic-length" -> maxTopic = intOption(args, ++i, a);
        default -> {
          if (a.startsWith("--")) {
            throw new UsageException("unknown option " + a);
          }
          if (file != null) {
            throw new UsageException("lang " + sub + " takes one FILE (or - for stdin), got '" + file
                + "' and '" + a + "'");
          }
          file = a;
        }
      }
    }
    if (file == null) {
      throw new UsageException("lang " + sub + " needs a FILE (or - for stdin)");
    }
    PastaLimits limits;
    try {
      limits = new PastaLimits(maxSpans, maxDepth, maxTopic);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    Program program = Program.fromTranscript(read(file), limits);
    if (sub.equals("assemble")) {
      out.print(program.assembledText());
    } else {
      out.println(planJson(program, ApproximateTokenCounter.INSTANCE));
    }
    out.flush();
  }

  private static int intOption(List<String> args, int i, String name) throws UsageException {
    if (i >= args.size()) {
      throw new UsageException(name + " needs a value");
    }
    try {
      return Integer.parseInt(args.get(i));
    } catch (NumberFormatException e) {
      throw new UsageException(name + " needs an integer, got '" + args.get(i) + "'");
    }
  }

  /** Reads UTF-8, replacing malformed bytes with U+FFFD: any input is a transcript. */
  private String read(String file) throws IOException {
    byte[] bytes;
    if (file.equals("-")) {
      bytes = in.readAllBytes();
    } else {
      try {
        bytes = Files.readAllBytes(Path.of(file));
      } catch (NoSuchFileException e) {
        throw new IOException("cannot read " + file + ": no such file");
      } catch (IOException | SecurityException | InvalidPathException e) {
        throw new IOException("cannot read " + file + ": " + e.getMessage());
      }
    }
    return StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPLACE)
        .onUnmappableCharacter(CodingErrorAction.REPLACE)
        .decode(ByteBuffer.wrap(bytes))
        .toString();
  }

  static String planJson(Program program, TokenCounter counter) throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    PlanStats stats = program.stats(counter);
    ObjectNode s = root.putObject("stats");
    s.put("spans", stats.spans());
    s.put("forks", stats.forks());
    s.put("joins", stats.joins());
    s.put("totalTokens", stats.totalTokens());
    s.put("criticalPathTokens", stats.criticalPathTokens());
    s.put("idealSpeedup", Math.round(stats.idealSpeedup() * 1000) / 1000.0);
    s.put("tokenCounter", counter.toString());
    root.put("wellFormed", program.wellFormed());
    root.set("main", spanJson(mapper, program, program.main(), counter));
    ArrayNode diagnostics = root.putArray("diagnostics");
    for (Diagnostic d : program.diagnostics()) {
      diagnostics.addObject().put("kind", d.kind().name()).put("span", d.span().path()).put("detail", d.detail());
    }
    root.put("assembled", program.assembledText());
    return mapper.writeValueAsString(root);
  }

  private static ObjectNode spanJson(ObjectMapper mapper, Program program, Span span, TokenCounter counter) {
    ObjectNode node = mapper.createObjectNode();
    node.put("id", span.id().path());
    span.parent().ifPresent(p -> node.put("parent", p.path()));
    span.topic().ifPresent(t -> node.put("topic", t));
    span.predictedTokens().ifPresent(n -> node.put("predictedTokens", n));
    if (!span.id().isMain()) {
      node.put("forkOffset", span.forkOffset());
      node.put("closed", span.closer().isPresent());
    }
    node.put("tokens", program.decodedTokens(span.id(), counter));
    node.put("text", program.assembledText(span.id()));
    ArrayNode forks = node.putArray("forks");
    for (SpanId child : span.forks()) {
      forks.add(spanJson(mapper, program, program.span(child), counter));
    }
    return node;
  }
}
