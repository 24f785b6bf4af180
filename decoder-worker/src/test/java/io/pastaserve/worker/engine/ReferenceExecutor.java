package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.Detokenizer;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.Tokenizer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately simple executor of PASTA-LANG semantics for replayed transcripts: no batching, no scheduler,
 * spans run one after another (depth 1), and every token is fed alone (batch 1) on top of its span's visible
 * cache, concatenated naively column by column. The batched engine must give the same logits.
 */
final class ReferenceExecutor {

  /** The keys and values of one token: [layer][0 key | 1 value][kvHeads * headDim]. */
  record Column(float[][][] kv) {
  }

  private final ModelRunner runner;
  private final ModelConfig cfg;
  private final Tokenizer tokenizer;
  private final PastaLimits limits;
  private final ReservationPolicy reservation;
  private final int[] closer;
  /** Logits by "span/index". */
  final Map<String, float[]> logits = new HashMap<>();

  ReferenceExecutor(ModelRunner runner, PastaLimits limits, ReservationPolicy reservation) {
    this.runner = runner;
    this.cfg = runner.config();
    this.tokenizer = runner.tokenizer();
    this.limits = limits;
    this.reservation = reservation;
    this.closer = tokenizer.encode(PastaEvent.AsyncClose.CANONICAL);
  }

  private record SpanResult(List<Column> own, int nextPosition) {
  }

  void run(String prompt, String transcript) {
    Map<String, int[]> forced = ForcedTokens.ofTranscript(transcript, limits, tokenizer, cfg.eosTokenId());
    int[] promptTokens = tokenizer.encode(cfg.applyChatTemplate(prompt));
    int[] positions = new int[promptTokens.length];
    for (int i = 0; i < positions.length; i++) {
      positions[i] = i;
    }
    span(SpanId.MAIN, new ArrayList<>(), promptTokens, positions, promptTokens.length, forced, false);
  }

  private SpanResult span(SpanId id, List<Column> context, int[] inputs, int[] inputPositions, int nextPosition,
      Map<String, int[]> forced, boolean fork) {
    List<Column> own = new ArrayList<>();
    float[] last = null;
    for (int i = 0; i < inputs.length; i++) {
      last = feed(context, inputs[i], inputPositions[i]);
      if (!fork || i > 0) {
        own.add(context.get(context.size() - 1));
      }
    }
    int[] tokens = forced.getOrDefault(id.path(), new int[0]);
    int index = 0;
    int forks = 0;
    PastaParser parser = new PastaParser(limits);
    Detokenizer detokenizer = tokenizer.newDetokenizer();
    List<SpanResult> outstanding = new ArrayList<>();
    int position = nextPosition;
    Integer chosen = null;
    while (true) {
      int t;
      if (chosen != null) {
        t = chosen;
        chosen = null;
      } else {
        logits.put(id + "/" + index, last);
        t = index < tokens.length ? tokens[index] : cfg.eosTokenId();
        index++;
      }
      if (t == cfg.eosTokenId()) {
        if (fork) {
          for (int c : closer) {
            feed(context, c, position++);
            own.add(context.get(context.size() - 1));
          }
        }
        return new SpanResult(own, position);
      }
      List<PastaEvent> events = parser.feed(detokenizer.next(t));
      int p = position;
      boolean close = false;
      boolean sync = false;
      List<SpanResult> started = new ArrayList<>();
      int reserved = 0;
      for (PastaEvent e : events) {
        if (e instanceof PastaEvent.Promise promise) {
          int[] opener = tokenizer.encode(PastaEvent.AsyncOpen.of(promise.topic()).raw());
          int[] in = new int[opener.length + 1];
          int[] pos = new int[opener.length + 1];
          in[0] = t;
          pos[0] = p;
          for (int k = 0; k < opener.length; k++) {
            in[k + 1] = opener[k];
            pos[k + 1] = p + 1 + k;
          }
          started.add(span(id.child(++forks), new ArrayList<>(context), in, pos, p + 1 + opener.length, forced,
              true));
          reserved += reservation.reserve(promise.predictedTokens(), cfg.defaultReservedTokens(), opener.length,
              closer.length, cfg.maxPositions());
        } else if (e instanceof PastaEvent.AsyncClose && fork) {
          close = true;
        } else if (e instanceof PastaEvent.Sync && !outstanding.isEmpty()) {
          sync = true;
        }
      }
      last = feed(context, t, p);
      own.add(context.get(context.size() - 1));
      position = p + 1 + reserved;
      outstanding.addAll(started);
      if (close) {
        return new SpanResult(own, position);
      }
      if (sync) {
        logits.put(id + "/" + index, last);
        chosen = index < tokens.length ? tokens[index] : cfg.eosTokenId();
        index++;
        for (SpanResult f : outstanding) {
          context.addAll(f.own());
          own.addAll(f.own());
          position = Math.max(position, f.nextPosition());
        }
        outstanding.clear();
      }
    }
  }

  /** Feeds one token on top of {@code context} (batch 1), appends its column, returns its logits. */
  private float[] feed(List<Column> context, int token, int position) {
    int n = context.size();
    int kvh = cfg.kvHeads();
    int d = cfg.headDim();
    KvBlock past = runner.newKvBlock();
    past.reshape(1, n);
    for (int l = 0; l < cfg.layers(); l++) {
      for (int kv = 0; kv < 2; kv++) {
        FloatBuffer b = past.tensor(l, kv);
        for (int c = 0; c < n; c++) {
          float[] col = context.get(c).kv()[l][kv];
          for (int h = 0; h < kvh; h++) {
            b.put((h * n + c) * d, col, h * d, d);
          }
        }
      }
    }
    long[] mask = new long[n + 1];
    Arrays.fill(mask, 1L);
    KvBlock present = runner.newKvBlock();
    FloatBuffer out = runner.forward(1, 1, new long[] {token}, new long[] {position}, mask, past, present);
    float[] result = new float[cfg.vocabSize()];
    out.get(0, result);
    float[][][] column = new float[cfg.layers()][2][kvh * d];
    for (int l = 0; l < cfg.layers(); l++) {
      for (int kv = 0; kv < 2; kv++) {
        FloatBuffer b = present.tensor(l, kv);
        for (int h = 0; h < kvh; h++) {
          b.get((h * (n + 1) + n) * d, column[l][kv], h * d, d);
        }
      }
    }
    context.add(new Column(column));
    return result;
  }
}
