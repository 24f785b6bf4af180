package io.pastaserve.common.lang;

/**
 * Decides where a tag begins and ends in a candidate (text starting with {@code '<'}); {@link TagReader} then
 * reads what the tag says. The rules are in {@code docs/pasta-lang.md}:
 *
 * <ul>
 *   <li>A tag is {@code '<'} immediately followed by one of the names {@code promise}, {@code async}, {@code
 *       /async}, {@code sync} (lower case) and then white space, {@code '/'} or {@code '>'}. Anything else is
 *       text.
 *   <li>It ends at its first {@code '>'}; if a {@code '<'} comes first, or the text ends, it ends right before
 *       that {@code '<'} or at the end (cut short, still the same tag).
 *   <li>A tag not ended within {@code maxTagLength} characters is text.
 * </ul>
 *
 * So completion is decided by one character, whatever the attributes look like. Not thread-safe; one per parser.
 */
final class TagMatcher {

  enum Status { PREFIX, FAIL, COMPLETE }

  private static final String[] NAMES = {"promise", "async", "/async", "sync"};

  private final TagReader reader;
  private final int maxTagLength;
  private int length;
  private PastaEvent event;

  TagMatcher(int maxTopicLength, int maxTagLength) {
    this.reader = new TagReader(maxTopicLength);
    this.maxTagLength = maxTagLength;
  }

  /** The tag matched by the last {@link #match} that returned {@link Status#COMPLETE}. */
  PastaEvent event() {
    return event;
  }

  /**
   * How many characters of the candidate the last completed tag took: all of them, or all but a last {@code
   * '<'} that may begin another tag.
   */
  int length() {
    return length;
  }

  /**
   * Matches a candidate that grew by one character since the last call (or is new).
   *
   * @param atEnd no more characters will follow: a tag that has begun ends here, anything else is text
   */
  Status match(CharSequence s, boolean atEnd) {
    event = null;
    length = 0;
    int n = s.length();
    String name = null;
    boolean possible = false;
    for (String candidate : NAMES) {
      int k = 0;
      while (k < candidate.length() && 1 + k < n && s.charAt(1 + k) == candidate.charAt(k)) {
        k++;
      }
      if (k == candidate.length()) {
        name = candidate;
        break;
      }
      possible |= 1 + k == n;
    }
    if (name == null) {
      return possible && !atEnd ? Status.PREFIX : Status.FAIL;
    }
    int body = 1 + name.length();
    if (body == n) {
      return atEnd ? Status.FAIL : Status.PREFIX;
    }
    if (!TagReader.isDelimiter(s.charAt(body))) {
      return Status.FAIL;
    }
    for (int k = body; k < n; k++) {
      char c = s.charAt(k);
      if (c == '>') {
        return complete(name, s, k + 1);
      }
      if (c == '<') {
        return complete(name, s, k);
      }
    }
    if (atEnd) {
      return complete(name, s, n);
    }
    return n > maxTagLength ? Status.FAIL : Status.PREFIX;
  }

  private Status complete(String name, CharSequence s, int end) {
    length = end;
    event = reader.read(name, s.subSequence(0, end).toString());
    return Status.COMPLETE;
  }
}
