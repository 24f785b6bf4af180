package io.pastaserve.worker.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.pastaserve.worker.kv.KvBlock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs forward passes of a model with ONNX Runtime's Java API, on the CPU (or CUDA, where every pass copies the
 * whole cache to the device and back: {@link io.pastaserve.worker.model.ort.BoundModelRunner} is the GPU's runner).
 * The cache never passes through the Java heap: the past is read from a host {@link KvBlock} and the present is
 * written by ONNX Runtime straight into another (pinned outputs), which becomes the next step's past.
 *
 * <p>The model is immutable and may be shared; a runner's buffers are not: one thread calls {@link #forward}.
 */
public final class JavaApiRunner implements ModelRunner {

  private static final Logger log = LoggerFactory.getLogger(JavaApiRunner.class);

  private final OrtEnvironment env;
  private final OrtSession session;
  private final ModelConfig config;
  private final Tokenizer tokenizer;
  private final Path dir;
  private final String provider;
  private final boolean feedsPositions;
  private final String[] pastNames;
  private final String[] presentNames;
  private LongBuffer ids = directLongs(256);
  private LongBuffer positions = directLongs(256);
  private LongBuffer mask = directLongs(4096);
  private FloatBuffer logits = directFloats(1 << 16);

  private JavaApiRunner(OrtEnvironment env, OrtSession session, ModelConfig config, Tokenizer tokenizer, Path dir,
      String provider) {
    this.env = env;
    this.session = session;
    this.config = config;
    this.tokenizer = tokenizer;
    this.dir = dir;
    this.provider = provider;
    this.pastNames = new String[config.layers() * 2];
    this.presentNames = new String[config.layers() * 2];
    for (int l = 0; l < config.layers(); l++) {
      pastNames[2 * l] = "past_key_values." + l + ".key";
      pastNames[2 * l + 1] = "past_key_values." + l + ".value";
      presentNames[2 * l] = "present." + l + ".key";
      presentNames[2 * l + 1] = "present." + l + ".value";
    }
    this.feedsPositions = validate();
  }

  /**
   * Opens the model in {@code dir} ({@code model.onnx}, {@code config.json}, {@code tokenizer.json}); with
   * {@code spinWait} false, idle ONNX Runtime threads sleep instead of spinning, which
   * costs a little latency alone but leaves the cores to the other threads and processes of a shared machine.
   *
   * @throws ModelContractException when the directory does not meet the model contract
   */
  public static JavaApiRunner open(Path dir, ExecutionProvider provider, int intraOpThreads, boolean spinWait) {
    if (!Files.isDirectory(dir)) {
      throw new ModelContractException("model directory " + dir + " does not exist");
    }
    Path onnx = dir.resolve("model.onnx");
    if (!Files.isRegularFile(onnx)) {
      throw new ModelContractException("model directory " + dir + " has no model.onnx");
    }
    ModelConfig config = ModelConfig.load(dir);
    if (config.kvElementBytes() != Float.BYTES) {
      throw new ModelContractException("the Java API runner reads float32 caches only; " + dir + " is "
          + config.kvDtype() + " (run it with I/O binding)");
    }
    Tokenizer tokenizer = Tokenizer.load(dir, config.vocabSize());
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtShutdownHook.remove();
    String chosen = "cpu";
    OrtSession session;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setInterOpNumThreads(1);
      if (intraOpThreads > 0) {
        options.setIntraOpNumThreads(intraOpThreads);
      }
      options.addConfigEntry("session.intra_op.allow_spinning", spinWait ? "1" : "0");
      if (provider != ExecutionProvider.CPU) {
        try {
          options.addCUDA(0);
          chosen = "cuda";
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
          if (provider == ExecutionProvider.CUDA) {
            throw new ModelContractException("CUDA execution provider unavailable: " + e.getMessage(), e);
          }
          log.info("CUDA execution provider unavailable ({}); running on CPU", e.getMessage());
        }
      }
      session = env.createSession(onnx.toString(), options);
    } catch (OrtException e) {
      tokenizer.close();
      throw new ModelContractException("ONNX Runtime cannot load " + onnx + ": " + e.getMessage(), e);
    }
    try {
      JavaApiRunner runner = new JavaApiRunner(env, session, config, tokenizer, dir, chosen);
      log.info("loaded model {} on {} ({} layers, {} kv heads x {}, vocab {})", dir, chosen, config.layers(),
          config.kvHeads(), config.headDim(), config.vocabSize());
      return runner;
    } catch (RuntimeException e) {
      closeQuietly(session);
      tokenizer.close();
      throw e;
    }
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public Path dir() {
    return dir;
  }

  /** {@code cpu} or {@code cuda}: the provider that loaded. */
  @Override
  public String device() {
    return provider;
  }

  /** An empty block in this model's cache layout. */
  @Override
  public KvBlock newKvBlock() {
    return new KvBlock(config.layers(), config.kvHeads(), config.headDim());
  }

  /**
   * One forward pass of {@code rows x seq} new tokens on top of {@code past}.
   *
   * @param inputIds {@code rows * seq} token ids, row-major
   * @param positionIds position id of each new token, same layout
   * @param attentionMask {@code rows * (past.columns() + seq)}: 1 where a row may attend (a key position, past
   *     or new); the model adds causality among the new tokens
   * @param past the cache to attend to; its shape must be {@code (rows, kvHeads, pastColumns, headDim)}
   * @param present reshaped here to {@code past.columns() + seq} columns and filled with past and new keys and
   *     values; must not be {@code past}
   * @return the logits, {@code rows * seq * vocab} floats, valid until the next call
   */
  @Override
  public FloatBuffer forward(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask,
      int pastColumns, KvBlock past, KvBlock present) {
    if (pastColumns != past.columns()) {
      throw new IllegalArgumentException("the past has " + past.columns() + " columns, not " + pastColumns);
    }
    if (past == present) {
      throw new IllegalArgumentException("past and present must be different blocks");
    }
    int total = past.columns() + seq;
    if (past.rows() != rows || inputIds.length < rows * seq || attentionMask.length < rows * total) {
      throw new IllegalArgumentException("inconsistent forward shapes");
    }
    present.reshape(rows, total);
    ids = fill(ids, inputIds, rows * seq);
    positions = fill(positions, positionIds, rows * seq);
    mask = fill(mask, attentionMask, rows * total);
    int logitCount = rows * seq * config.vocabSize();
    if (logits.capacity() < logitCount) {
      logits = directFloats(Math.max(logitCount, logits.capacity() * 2));
    }
    Map<String, OnnxTensor> inputs = new HashMap<>();
    Map<String, OnnxTensor> outputs = new HashMap<>();
    try {
      inputs.put("input_ids", OnnxTensor.createTensor(env, ids.slice(0, rows * seq), new long[] {rows, seq}));
      inputs.put("attention_mask", OnnxTensor.createTensor(env, mask.slice(0, rows * total),
          new long[] {rows, total}));
      if (feedsPositions) {
        inputs.put("position_ids", OnnxTensor.createTensor(env, positions.slice(0, rows * seq),
            new long[] {rows, seq}));
      }
      long[] pastShape = past.shape();
      long[] presentShape = present.shape();
      for (int l = 0; l < config.layers(); l++) {
        for (int kv = 0; kv < 2; kv++) {
          inputs.put(pastNames[2 * l + kv], OnnxTensor.createTensor(env, past.tensor(l, kv), pastShape));
          outputs.put(presentNames[2 * l + kv], OnnxTensor.createTensor(env, present.tensor(l, kv), presentShape));
        }
      }
      FloatBuffer out = logits.slice(0, logitCount);
      outputs.put("logits", OnnxTensor.createTensor(env, out,
          new long[] {rows, seq, config.vocabSize()}));
      try (OrtSession.Result ignored = session.run(inputs, outputs)) {
        return out;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("forward pass failed: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
      outputs.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public void close() {
    closeQuietly(session);
    tokenizer.close();
  }

  /** Checks input and output names and cache shapes against the contract; true when positions are fed. */
  private boolean validate() {
    try {
      Map<String, NodeInfo> in = session.getInputInfo();
      Set<String> out = session.getOutputNames();
      for (String name : new String[] {"input_ids", "attention_mask"}) {
        requireName(in.containsKey(name), "input", name);
      }
      requireName(out.contains("logits"), "output", "logits");
      for (int i = 0; i < pastNames.length; i++) {
        requireName(in.containsKey(pastNames[i]), "input", pastNames[i]);
        requireName(out.contains(presentNames[i]), "output", presentNames[i]);
        if (in.get(pastNames[i]).getInfo() instanceof TensorInfo info) {
          long[] shape = info.getShape();
          if (shape.length != 4 || (shape[1] > 0 && shape[1] != config.kvHeads())
              || (shape[3] > 0 && shape[3] != config.headDim())) {
            throw new ModelContractException("model.onnx input " + pastNames[i] + " has shape "
                + java.util.Arrays.toString(shape) + " but config.json says (batch, " + config.kvHeads()
                + ", past, " + config.headDim() + ")");
          }
        }
      }
      int extraLayers = (int) in.keySet().stream().filter(n -> n.startsWith("past_key_values.")).count();
      if (extraLayers != pastNames.length) {
        throw new ModelContractException("model.onnx has " + extraLayers / 2 + " cache layers but config.json says "
            + config.layers());
      }
      boolean positions = in.containsKey("position_ids");
      if (!positions) {
        log.warn("model.onnx takes no position_ids: forks will not get the positions PASTA-LANG assigns");
      }
      return positions;
    } catch (OrtException e) {
      throw new ModelContractException("cannot inspect model.onnx: " + e.getMessage(), e);
    }
  }

  private static void requireName(boolean present, String kind, String name) {
    if (!present) {
      throw new ModelContractException("model.onnx lacks the " + kind + " '" + name
          + "' (see docs/model-contract.md)");
    }
  }

  private static LongBuffer fill(LongBuffer buffer, long[] values, int count) {
    LongBuffer b = buffer.capacity() >= count ? buffer : directLongs(Math.max(count, buffer.capacity() * 2));
    b.put(0, values, 0, count);
    return b;
  }

  private static LongBuffer directLongs(int n) {
    return ByteBuffer.allocateDirect(n * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
  }

  private static FloatBuffer directFloats(int n) {
    return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static void closeQuietly(OrtSession session) {
    try {
      session.close();
    } catch (OrtException e) {
      log.debug("closing session: {}", e.getMessage());
    }
  }
}
