package io.pastaserve.worker.model.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import ai.onnxruntime.OrtEnvironment;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The part of ONNX Runtime's C API ({@code OrtApi}, {@code onnxruntime_c_api.h}) that the Java API lacks: I/O
 * binding to memory of our choosing, CUDA provider options, the session's device allocator. Called through the
 * Java FFM API on the same {@code libonnxruntime.so} that the Java API ({@code ai.onnxruntime}) loaded, so both
 * share one ONNX Runtime environment.
 *
 * <p>{@code OrtApi} is a table of function pointers that only ever grows; an entry's index is its place in the
 * struct. Every call that returns an {@code OrtStatus*} is checked: a non-null status becomes an
 * {@link OrtFailure} with ONNX Runtime's message.
 */
public final class OrtApi {

  /** The API version asked for: what every entry used here needs, well below the library's (1.28: 28). */
  private static final int API_VERSION = 20;

  // entry indices in struct OrtApi (append-only across releases)
  private static final int GET_ERROR_MESSAGE = 2;
  private static final int CREATE_ENV = 3;
  private static final int CREATE_SESSION = 7;
  private static final int CREATE_SESSION_OPTIONS = 10;
  private static final int SET_SESSION_EXECUTION_MODE = 13;
  private static final int ENABLE_PROFILING = 14;
  private static final int SET_SESSION_GRAPH_OPTIMIZATION_LEVEL = 23;
  private static final int SET_INTRA_OP_NUM_THREADS = 24;
  private static final int SET_INTER_OP_NUM_THREADS = 25;
  private static final int CREATE_RUN_OPTIONS = 39;
  private static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
  private static final int CREATE_MEMORY_INFO = 68;
  private static final int CREATE_CPU_MEMORY_INFO = 69;
  private static final int ALLOCATOR_ALLOC = 75;
  private static final int ALLOCATOR_FREE = 76;
  private static final int RELEASE_ENV = 92;
  private static final int RELEASE_STATUS = 93;
  private static final int RELEASE_MEMORY_INFO = 94;
  private static final int RELEASE_SESSION = 95;
  private static final int RELEASE_VALUE = 96;
  private static final int RELEASE_RUN_OPTIONS = 97;
  private static final int RELEASE_SESSION_OPTIONS = 100;
  private static final int ADD_FREE_DIMENSION_OVERRIDE_BY_NAME = 124;
  private static final int ADD_SESSION_CONFIG_ENTRY = 130;
  private static final int CREATE_ALLOCATOR = 131;
  private static final int RELEASE_ALLOCATOR = 132;
  private static final int RUN_WITH_BINDING = 133;
  private static final int CREATE_IO_BINDING = 134;
  private static final int RELEASE_IO_BINDING = 135;
  private static final int BIND_INPUT = 136;
  private static final int BIND_OUTPUT = 137;
  private static final int ADD_RUN_CONFIG_ENTRY = 165;
  private static final int APPEND_EXECUTION_PROVIDER_CUDA_V2 = 204;
  private static final int CREATE_CUDA_PROVIDER_OPTIONS = 205;
  private static final int UPDATE_CUDA_PROVIDER_OPTIONS = 206;
  private static final int RELEASE_CUDA_PROVIDER_OPTIONS = 208;

  /** {@code ONNXTensorElementDataType} values used here. */
  public static final int FLOAT = 1;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int FLOAT16 = 10;

  private static volatile OrtApi instance;

  private final Arena arena = Arena.ofAuto();
  private final MethodHandle getErrorMessage;
  private final MethodHandle createEnv;
  private final MethodHandle createSession;
  private final MethodHandle createSessionOptions;
  private final MethodHandle setExecutionMode;
  private final MethodHandle enableProfiling;
  private final MethodHandle setOptimizationLevel;
  private final MethodHandle setIntraOpThreads;
  private final MethodHandle setInterOpThreads;
  private final MethodHandle createRunOptions;
  private final MethodHandle releaseRunOptions;
  private final MethodHandle addRunConfigEntry;
  private final MethodHandle addFreeDimensionOverride;
  private final MethodHandle createTensor;
  private final MethodHandle createMemoryInfo;
  private final MethodHandle createCpuMemoryInfo;
  private final MethodHandle allocatorAlloc;
  private final MethodHandle allocatorFree;
  private final MethodHandle releaseEnv;
  private final MethodHandle releaseStatus;
  private final MethodHandle releaseMemoryInfo;
  private final MethodHandle releaseSession;
  private final MethodHandle releaseValue;
  private final MethodHandle releaseSessionOptions;
  private final MethodHandle addSessionConfigEntry;
  private final MethodHandle createAllocator;
  private final MethodHandle releaseAllocator;
  private final MethodHandle runWithBinding;
  private final MethodHandle createIoBinding;
  private final MethodHandle releaseIoBinding;
  private final MethodHandle bindInput;
  private final MethodHandle bindOutput;
  private final MethodHandle appendCuda;
  private final MethodHandle createCudaOptions;
  private final MethodHandle updateCudaOptions;
  private final MethodHandle releaseCudaOptions;

  private OrtApi(MemorySegment table) {
    Linker linker = Linker.nativeLinker();
    MemorySegment api = table.reinterpret(ADDRESS.byteSize() * 512);
    Table t = new Table(linker, api);
    FunctionDescriptor status1 = FunctionDescriptor.of(ADDRESS, ADDRESS);
    FunctionDescriptor status2 = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS);
    FunctionDescriptor status3 = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    FunctionDescriptor release = FunctionDescriptor.ofVoid(ADDRESS);
    getErrorMessage = t.get(GET_ERROR_MESSAGE, FunctionDescriptor.of(ADDRESS, ADDRESS));
    createEnv = t.get(CREATE_ENV, FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    createSession = t.get(CREATE_SESSION, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    createSessionOptions = t.get(CREATE_SESSION_OPTIONS, status1);
    setExecutionMode = t.get(SET_SESSION_EXECUTION_MODE, FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    enableProfiling = t.get(ENABLE_PROFILING, status2);
    setOptimizationLevel = t.get(SET_SESSION_GRAPH_OPTIMIZATION_LEVEL,
        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    setIntraOpThreads = t.get(SET_INTRA_OP_NUM_THREADS, FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    setInterOpThreads = t.get(SET_INTER_OP_NUM_THREADS, FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    createRunOptions = t.get(CREATE_RUN_OPTIONS, status1);
    releaseRunOptions = t.get(RELEASE_RUN_OPTIONS, release);
    addRunConfigEntry = t.get(ADD_RUN_CONFIG_ENTRY, status3);
    addFreeDimensionOverride = t.get(ADD_FREE_DIMENSION_OVERRIDE_BY_NAME,
        FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    createTensor = t.get(CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE,
        FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
    createMemoryInfo = t.get(CREATE_MEMORY_INFO,
        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    createCpuMemoryInfo = t.get(CREATE_CPU_MEMORY_INFO, FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    allocatorAlloc = t.get(ALLOCATOR_ALLOC, FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    allocatorFree = t.get(ALLOCATOR_FREE, status2);
    releaseEnv = t.get(RELEASE_ENV, release);
    releaseStatus = t.get(RELEASE_STATUS, release);
    releaseMemoryInfo = t.get(RELEASE_MEMORY_INFO, release);
    releaseSession = t.get(RELEASE_SESSION, release);
    releaseValue = t.get(RELEASE_VALUE, release);
    releaseSessionOptions = t.get(RELEASE_SESSION_OPTIONS, release);
    addSessionConfigEntry = t.get(ADD_SESSION_CONFIG_ENTRY, status3);
    createAllocator = t.get(CREATE_ALLOCATOR, status3);
    releaseAllocator = t.get(RELEASE_ALLOCATOR, release);
    runWithBinding = t.get(RUN_WITH_BINDING, status3);
    createIoBinding = t.get(CREATE_IO_BINDING, status2);
    releaseIoBinding = t.get(RELEASE_IO_BINDING, release);
    bindInput = t.get(BIND_INPUT, status3);
    bindOutput = t.get(BIND_OUTPUT, status3);
    appendCuda = t.get(APPEND_EXECUTION_PROVIDER_CUDA_V2, status2);
    createCudaOptions = t.get(CREATE_CUDA_PROVIDER_OPTIONS, status1);
    updateCudaOptions = t.get(UPDATE_CUDA_PROVIDER_OPTIONS,
        FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    releaseCudaOptions = t.get(RELEASE_CUDA_PROVIDER_OPTIONS, release);
  }

  /**
   * The API of the ONNX Runtime library that {@code ai.onnxruntime} loads (loading it first when needed).
   *
   * @throws OrtFailure when the library does not export {@code OrtGetApiBase} or lacks the API version
   */
  public static OrtApi get() {
    OrtApi api = instance;
    if (api == null) {
      synchronized (OrtApi.class) {
        api = instance;
        if (api == null) {
          instance = api = load();
        }
      }
    }
    return api;
  }

  private static OrtApi load() {
    OrtEnvironment.getEnvironment(); // loads libonnxruntime.so into this class loader
    MemorySegment getApiBase = SymbolLookup.loaderLookup().find("OrtGetApiBase")
        .orElseThrow(() -> new OrtFailure("libonnxruntime.so exports no OrtGetApiBase"));
    Linker linker = Linker.nativeLinker();
    try {
      MemorySegment base = ((MemorySegment) linker.downcallHandle(getApiBase, FunctionDescriptor.of(ADDRESS))
          .invokeExact()).reinterpret(2 * ADDRESS.byteSize());
      MethodHandle getApi = linker.downcallHandle(base.get(ADDRESS, 0), FunctionDescriptor.of(ADDRESS, JAVA_INT));
      MethodHandle version = linker.downcallHandle(base.get(ADDRESS, ADDRESS.byteSize()),
          FunctionDescriptor.of(ADDRESS));
      String libraryVersion = ((MemorySegment) version.invokeExact()).reinterpret(64).getString(0);
      MemorySegment table = (MemorySegment) getApi.invokeExact(API_VERSION);
      if (table.equals(MemorySegment.NULL)) {
        throw new OrtFailure("ONNX Runtime " + libraryVersion + " does not offer C API version " + API_VERSION);
      }
      return new OrtApi(table);
    } catch (OrtFailure e) {
      throw e;
    } catch (Throwable e) {
      throw new OrtFailure("cannot read ONNX Runtime's C API: " + e, e);
    }
  }

  /** Throws when {@code status} is an error (and releases it). */
  void check(MemorySegment status, String what) {
    if (status.equals(MemorySegment.NULL)) {
      return;
    }
    String message;
    try {
      message = ((MemorySegment) getErrorMessage.invokeExact(status)).reinterpret(1 << 16).getString(0);
      releaseStatus.invokeExact(status);
    } catch (Throwable e) {
      message = "(no message: " + e + ")";
    }
    throw new OrtFailure(what + ": " + message);
  }

  // ---- typed calls; pointers out come back as segments ----

  MemorySegment createEnv(Arena scope) {
    return out(scope, "CreateEnv", p -> (MemorySegment) createEnv.invokeExact(2, scope.allocateFrom("pasta"), p));
  }

  MemorySegment createSessionOptions(Arena scope) {
    return out(scope, "CreateSessionOptions", p -> (MemorySegment) createSessionOptions.invokeExact(p));
  }

  void setExecutionMode(MemorySegment options, int mode) {
    call("SetSessionExecutionMode", () -> (MemorySegment) setExecutionMode.invokeExact(options, mode));
  }

  void setOptimizationLevel(MemorySegment options, int level) {
    call("SetSessionGraphOptimizationLevel", () -> (MemorySegment) setOptimizationLevel.invokeExact(options, level));
  }

  /** Profiles every run; ONNX Runtime writes the trace ({@code PREFIX_<date>.json}) when the session is released. */
  void enableProfiling(MemorySegment options, String prefix) {
    try (Arena a = Arena.ofConfined()) {
      call("EnableProfiling", () -> (MemorySegment) enableProfiling.invokeExact(options, a.allocateFrom(prefix)));
    }
  }

  void setThreads(MemorySegment options, int intra, int inter) {
    call("SetIntraOpNumThreads", () -> (MemorySegment) setIntraOpThreads.invokeExact(options, intra));
    call("SetInterOpNumThreads", () -> (MemorySegment) setInterOpThreads.invokeExact(options, inter));
  }

  void addConfigEntry(MemorySegment options, String key, String value) {
    try (Arena a = Arena.ofConfined()) {
      call("AddSessionConfigEntry " + key, () -> (MemorySegment) addSessionConfigEntry.invokeExact(options,
          a.allocateFrom(key), a.allocateFrom(value)));
    }
  }

  /** Fixes the graph's symbolic dimension {@code name} at {@code value} (ONNX Runtime then folds what it fixes). */
  void fixDimension(MemorySegment options, String name, long value) {
    try (Arena a = Arena.ofConfined()) {
      call("AddFreeDimensionOverrideByName " + name, () -> (MemorySegment) addFreeDimensionOverride.invokeExact(
          options, a.allocateFrom(name), value));
    }
  }

  /** Run options with the given config entries (key/value pairs); release them with {@link #releaseRunOptions}. */
  MemorySegment createRunOptions(String... keyValues) {
    MemorySegment options;
    try (Arena a = Arena.ofConfined()) {
      options = out(a, "CreateRunOptions", p -> (MemorySegment) createRunOptions.invokeExact(p));
    }
    try (Arena a = Arena.ofConfined()) {
      for (int i = 0; i + 1 < keyValues.length; i += 2) {
        MemorySegment key = a.allocateFrom(keyValues[i]);
        MemorySegment value = a.allocateFrom(keyValues[i + 1]);
        call("AddRunConfigEntry " + keyValues[i], () -> (MemorySegment) addRunConfigEntry.invokeExact(options, key,
            value));
      }
    } catch (OrtFailure e) {
      releaseRunOptions(options);
      throw e;
    }
    return options;
  }

  void releaseRunOptions(MemorySegment options) {
    invokeRelease(releaseRunOptions, options);
  }

  /** Appends the CUDA execution provider (device {@code device}, more options as key/value pairs). */
  void appendCuda(MemorySegment options, String... keyValues) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment cuda = out(a, "CreateCUDAProviderOptions", p -> (MemorySegment) createCudaOptions.invokeExact(p));
      try {
        int n = keyValues.length / 2;
        MemorySegment keys = a.allocate(ADDRESS, n);
        MemorySegment values = a.allocate(ADDRESS, n);
        for (int i = 0; i < n; i++) {
          keys.setAtIndex(ADDRESS, i, a.allocateFrom(keyValues[2 * i]));
          values.setAtIndex(ADDRESS, i, a.allocateFrom(keyValues[2 * i + 1]));
        }
        call("UpdateCUDAProviderOptions", () -> (MemorySegment) updateCudaOptions.invokeExact(cuda, keys, values,
            (long) n));
        call("SessionOptionsAppendExecutionProvider_CUDA_V2",
            () -> (MemorySegment) appendCuda.invokeExact(options, cuda));
      } finally {
        invokeRelease(releaseCudaOptions, cuda);
      }
    }
  }

  MemorySegment createSession(MemorySegment env, String path, MemorySegment options) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment file = a.allocateFrom(path);
      return out(a, "CreateSession " + path, p -> (MemorySegment) createSession.invokeExact(env, file, options, p));
    }
  }

  /** A memory info for CPU memory. */
  MemorySegment cpuMemoryInfo() {
    try (Arena a = Arena.ofConfined()) {
      // OrtArenaAllocator = 1, OrtMemTypeDefault = 0
      return out(a, "CreateCpuMemoryInfo", p -> (MemorySegment) createCpuMemoryInfo.invokeExact(1, 0, p));
    }
  }

  /** A memory info for CUDA device memory of device {@code device}. */
  MemorySegment cudaMemoryInfo(int device) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment name = a.allocateFrom("Cuda");
      return out(a, "CreateMemoryInfo Cuda", p -> (MemorySegment) createMemoryInfo.invokeExact(name, 1, device, 0, p));
    }
  }

  MemorySegment createAllocator(MemorySegment session, MemorySegment memoryInfo) {
    try (Arena a = Arena.ofConfined()) {
      return out(a, "CreateAllocator", p -> (MemorySegment) createAllocator.invokeExact(session, memoryInfo, p));
    }
  }

  MemorySegment alloc(MemorySegment allocator, long bytes) {
    try (Arena a = Arena.ofConfined()) {
      return out(a, "AllocatorAlloc " + bytes + " bytes",
          p -> (MemorySegment) allocatorAlloc.invokeExact(allocator, bytes, p));
    }
  }

  void free(MemorySegment allocator, MemorySegment pointer) {
    call("AllocatorFree", () -> (MemorySegment) allocatorFree.invokeExact(allocator, pointer));
  }

  /**
   * A tensor over {@code bytes} bytes at {@code data} (not owned: releasing the value leaves the memory alone).
   * {@code shape} is read from native memory ({@code int64_t[rank]}).
   */
  MemorySegment tensor(MemorySegment memoryInfo, MemorySegment data, long bytes, MemorySegment shape, int rank,
      int elementType, MemorySegment out) {
    call("CreateTensorWithDataAsOrtValue", () -> (MemorySegment) createTensor.invokeExact(memoryInfo, data, bytes,
        shape, (long) rank, elementType, out));
    return out.get(ADDRESS, 0);
  }

  MemorySegment createIoBinding(MemorySegment session) {
    try (Arena a = Arena.ofConfined()) {
      return out(a, "CreateIoBinding", p -> (MemorySegment) createIoBinding.invokeExact(session, p));
    }
  }

  void bindInput(MemorySegment binding, MemorySegment name, MemorySegment value) {
    call("BindInput", () -> (MemorySegment) bindInput.invokeExact(binding, name, value));
  }

  void bindOutput(MemorySegment binding, MemorySegment name, MemorySegment value) {
    call("BindOutput", () -> (MemorySegment) bindOutput.invokeExact(binding, name, value));
  }

  void run(MemorySegment session, MemorySegment binding) {
    run(session, MemorySegment.NULL, binding);
  }

  void run(MemorySegment session, MemorySegment runOptions, MemorySegment binding) {
    call("RunWithBinding", () -> (MemorySegment) runWithBinding.invokeExact(session, runOptions, binding));
  }

  void releaseValue(MemorySegment value) {
    invokeRelease(releaseValue, value);
  }

  void releaseSession(MemorySegment session) {
    invokeRelease(releaseSession, session);
  }

  void releaseSessionOptions(MemorySegment options) {
    invokeRelease(releaseSessionOptions, options);
  }

  void releaseMemoryInfo(MemorySegment info) {
    invokeRelease(releaseMemoryInfo, info);
  }

  void releaseAllocator(MemorySegment allocator) {
    invokeRelease(releaseAllocator, allocator);
  }

  void releaseIoBinding(MemorySegment binding) {
    invokeRelease(releaseIoBinding, binding);
  }

  void releaseEnv(MemorySegment env) {
    invokeRelease(releaseEnv, env);
  }

  // ---- plumbing ----

  @FunctionalInterface
  private interface OutCall {
    MemorySegment call(MemorySegment out) throws Throwable;
  }

  @FunctionalInterface
  private interface StatusCall {
    MemorySegment call() throws Throwable;
  }

  /** Calls a function whose last parameter is a {@code T** out}; returns {@code *out}. */
  private MemorySegment out(Arena scope, String what, OutCall call) {
    MemorySegment out = scope.allocate(ADDRESS);
    MemorySegment status;
    try {
      status = call.call(out);
    } catch (Throwable e) {
      throw new OrtFailure(what + ": " + e, e);
    }
    check(status, what);
    return out.get(ADDRESS, 0);
  }

  private void call(String what, StatusCall call) {
    MemorySegment status;
    try {
      status = call.call();
    } catch (Throwable e) {
      throw new OrtFailure(what + ": " + e, e);
    }
    check(status, what);
  }

  private static void invokeRelease(MethodHandle release, MemorySegment object) {
    if (object == null || object.equals(MemorySegment.NULL)) {
      return;
    }
    try {
      release.invokeExact(object);
    } catch (Throwable e) {
      throw new OrtFailure("release: " + e, e);
    }
  }

  /** Downcall handles for the entries of a function table. */
  private record Table(Linker linker, MemorySegment api) {

    MethodHandle get(int index, FunctionDescriptor descriptor) {
      MemorySegment function = api.getAtIndex(ADDRESS, index);
      if (function.equals(MemorySegment.NULL)) {
        throw new OrtFailure("ONNX Runtime's C API has no entry " + index);
      }
      return linker.downcallHandle(function, descriptor);
    }
  }
}
