package io.pastaserve.common.lang;

import java.util.List;

/**
 * Finds the first stop string in text that arrives in pieces, and releases only text that cannot be the start of
 * one: what it releases after {@code feed}ing a text depends on that text alone, not on how it was split. Once a
 * stop string is found, the text before it is released and everything after is dropped. Not thread-safe.
 */
public final class StopMatcher {

  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean matched;

  public StopMatcher(List<String> stops) {
    this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
  }

  /** Whether a stop string was found. */
  public boolean matched() {
    return matched;
  }

  /** Adds {@code text}; returns the text now safe to release (empty after a match). */
  public String feed(String text) {
    if (matched || text.isEmpty()) {
      return "";
    }
    if (stops.isEmpty()) {
      return text;
    }
    held.append(text);
    int first = -1;
    for (String stop : stops) {
      int at = held.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    if (first >= 0) {
      matched = true;
      String out = held.substring(0, first);
      held.setLength(0);
      return out;
    }
    int keep = 0;
    String h = held.toString();
    for (String stop : stops) {
      for (int n = Math.min(stop.length() - 1, h.length()); n > keep; n--) {
        if (h.regionMatches(h.length() - n, stop, 0, n)) {
          keep = n;
          break;
        }
      }
    }
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** The text ended without a stop string: releases what was held back. */
  public String finish() {
    String out = matched ? "" : held.toString();
    held.setLength(0);
    return out;
  }
}
