package io.pastaserve.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options and {@code --flag}s of one command, checked against what it accepts. */
public final class Options {

  private final Map<String, String> values = new HashMap<>();
  private final Set<String> flags = new HashSet<>();

  private Options() {
  }

  public static Options parse(String command, List<String> args, Set<String> valued, Set<String> flagNames)
      throws UsageException {
    Options o = new Options();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (flagNames.contains(a)) {
        o.flags.add(a);
      } else if (valued.contains(a)) {
        if (i + 1 >= args.size()) {
          throw new UsageException(command + ": " + a + " needs a value");
        }
        o.values.put(a, args.get(++i));
      } else {
        throw new UsageException(command + ": unknown argument '" + a + "'");
      }
    }
    return o;
  }

  public boolean flag(String name) {
    return flags.contains(name);
  }

  public String get(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  public String required(String command, String name) throws UsageException {
    String v = values.get(name);
    if (v == null) {
      throw new UsageException(command + " needs " + name);
    }
    return v;
  }

  public int intValue(String command, String name, int fallback, int min, int max) throws UsageException {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(v);
      if (n < min || n > max) {
        throw new UsageException(command + ": " + name + " must be in " + min + ".." + max + ", got " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": " + name + " needs an integer, got '" + v + "'");
    }
  }

  public long longValue(String command, String name, long fallback) throws UsageException {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": " + name + " needs an integer, got '" + v + "'");
    }
  }

  public double doubleValue(String command, String name, double fallback, double min, double max)
      throws UsageException {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      double d = Double.parseDouble(v);
      if (!(d >= min && d <= max)) {
        throw new UsageException(command + ": " + name + " must be in [" + min + ", " + max + "], got " + v);
      }
      return d;
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": " + name + " needs a number, got '" + v + "'");
    }
  }
}
