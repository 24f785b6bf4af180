package io.pastaserve.gateway.generation;

import io.pastaserve.common.output.OutputEntry;

/**
 * What one read of a request's output stream gave: an {@link OutputEntry} (decoded by {@link
 * io.pastaserve.common.output.OutputCodec}) with its stream id, or {@link #IDLE} when nothing new was there.
 *
 * @param id the stream entry's id (what {@code Last-Event-ID} names); empty for {@link #IDLE}
 * @param entry the entry; null for {@link #IDLE}
 */
public record StreamedEntry(String id, OutputEntry entry) {

  /** Not an entry: a read found nothing new (readers use it to keep a connection's liveness in view). */
  public static final StreamedEntry IDLE = new StreamedEntry("", null);

  public boolean isIdle() {
    return entry == null;
  }

  public boolean isDone() {
    return entry instanceof OutputEntry.Done;
  }

  /** The final entry; null when this is not one. */
  public OutputEntry.Done done() {
    return entry instanceof OutputEntry.Done d ? d : null;
  }

  /** The answer's text this entry adds; empty for any entry but text. */
  public String text() {
    return entry instanceof OutputEntry.Text t ? t.text() : "";
  }
}
