package io.pastaserve.common.lang;

/**
 * Decides where a tag begins and ends in a candidate (text starting with {@code '<'}); {@link TagReader} then
 * reads what the tag says. The rules are in {@code docs/pasta-lang.md}:
 *
 * <ul>
 *   <li>A tag is {@code '<'} immediately followed by one of the names {@code promise}, {@code async}, {@code
 *       /async}, {@code sync} (lower case) and then white space, {@code '/'} or {@code '>'}; so is a closer
 *       {@code /promise} or {@code /sync} of a tag that has none, which is a broken tag. Anything else is text.
 *   <li>It ends at its first {@code '>'}, or where the text ends.
 *   <li>A {@code '<'} before that {@code '>'} cuts it off: what came before is a broken tag, without effect, and
 *       the {@code '<'} may begin the next tag.
 *   <li>A tag still open after {@code maxTagLength} characters is text.
 * </ul>
 *
 * A tag is complete on the character that ends it, never later, so a decoder acts on the token that completes
 * it; only a broken tag, which does nothing, is known a character late. Not thread-safe; one per parser.
 */
final class TagMatcher {

  /** COMPLETE: the candidate is a tag; BROKEN: all of it but its last character, a '<', is a broken tag. */
  enum Status { PREFIX, FAIL, COMPLETE, BROKEN }

  private static final String[] NAMES = {"promise", "async", "/async", "sync", "/promise", "/sync"};

  private final TagReader reader;
  private final int maxTagLength;
  private PastaEvent event;

  TagMatcher(int maxTopicLength, int maxTagLength) {
    this.reader = new TagReader(maxTopicLength);
    this.maxTagLength = maxTagLength;
  }

  /** The tag matched by the last {@link #match} that returned {@link Status#COMPLETE} or {@link Status#BROKEN}. */
  PastaEvent event() {
    return event;
  }

  /**
   * Matches a candidate that is new or grew by one character since the last call, which returned {@link
   * Status#PREFIX}: only its last character can end a tag that has begun, so each call costs at most the
   * length of a name.
   *
   * @param atEnd no more characters will follow: a tag that has begun ends here, anything else is text
   */
  Status match(CharSequence s, boolean atEnd) {
    event = null;
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
    if (s.charAt(n - 1) == '<') {
      event = reader.broken(name, s.subSequence(0, n - 1).toString());
      return Status.BROKEN;
    }
    if (s.charAt(n - 1) == '>' || atEnd) {
      event = reader.read(name, s.toString());
      return Status.COMPLETE;
    }
    return n > maxTagLength ? Status.FAIL : Status.PREFIX;
  }
}
