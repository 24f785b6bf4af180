package io.pastaserve.worker.model;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime's Java binding releases its native environment in a JVM shutdown hook of its own. Shutdown hooks run
 * concurrently, so on SIGTERM the environment can be released under a forward pass that is still running, and the
 * process dies with SIGSEGV (microsoft/onnxruntime#10670 says as much; #31352). A worker goes on decoding while it
 * stops — it lets running requests finish and hands the rest over — so the hook is taken out: the environment lives
 * until the process ends, and the engine's own close (after its loop has stopped) is the last use of it.
 *
 * <p>Removing the hook reads {@code java.lang.ApplicationShutdownHooks}, which needs {@code java.lang} opened to the
 * worker: the runnable jar's manifest does it ({@code Add-Opens: java.base/java.lang}). Where it is not open (the
 * engine inside another program, a test JVM), the hook stays and this says so once.
 */
public final class OrtShutdownHook {

  private static final Logger log = LoggerFactory.getLogger(OrtShutdownHook.class);
  private static final String CLOSER = "ai.onnxruntime.OrtEnvironment$OrtEnvCloser";

  private OrtShutdownHook() {
  }

  /** Takes ONNX Runtime's environment closer out of the JVM's shutdown hooks; true when one was removed. */
  public static synchronized boolean remove() {
    try {
      Class<?> hooksClass = Class.forName("java.lang.ApplicationShutdownHooks");
      Field field = hooksClass.getDeclaredField("hooks");
      field.setAccessible(true);
      List<Thread> closers;
      synchronized (hooksClass) {
        @SuppressWarnings("unchecked")
        Map<Thread, Thread> hooks = (Map<Thread, Thread>) field.get(null);
        if (hooks == null) {
          return false; // shutting down already
        }
        closers = hooks.keySet().stream().filter(OrtShutdownHook::isCloser).toList();
      }
      closers.forEach(Runtime.getRuntime()::removeShutdownHook);
      if (!closers.isEmpty()) {
        log.info("ONNX Runtime's shutdown hook removed: its environment lives until the process ends");
      }
      return !closers.isEmpty();
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.info("cannot remove ONNX Runtime's shutdown hook ({}): a JVM shutdown during a forward pass may crash "
          + "the process; the worker's runnable jar opens java.lang for this", e.toString());
      return false;
    }
  }

  /** Whether the hook runs ONNX Runtime's environment closer. */
  private static boolean isCloser(Thread hook) {
    Object task = task(hook);
    return task != null && task.getClass().getName().equals(CLOSER);
  }

  /** The Runnable a thread was made with: {@code Thread.target} (JDK 17), {@code Thread.holder.task} (JDK 19+). */
  private static Object task(Thread thread) {
    try {
      Field target = Thread.class.getDeclaredField("target");
      target.setAccessible(true);
      return target.get(thread);
    } catch (NoSuchFieldException e) {
      try {
        Field holder = Thread.class.getDeclaredField("holder");
        holder.setAccessible(true);
        Object h = holder.get(thread);
        Field task = h.getClass().getDeclaredField("task");
        task.setAccessible(true);
        return task.get(h);
      } catch (ReflectiveOperationException inner) {
        return null;
      }
    } catch (IllegalAccessException e) {
      return null;
    }
  }
}
