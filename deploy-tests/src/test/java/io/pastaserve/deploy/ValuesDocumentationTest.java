package io.pastaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every value of the chart carries a `# --` description, on itself or on the map that holds it. */
class ValuesDocumentationTest {

  private static final Pattern KEY = Pattern.compile("^(\\s*)(?:- )?([A-Za-z][\\w.-]*):(.*)$");

  private record Key(int indent, String path, boolean documented) {}

  @Test
  void everyValue_isDocumented() throws IOException {
    List<String> lines = Files.readAllLines(Repository.chart().resolve("values.yaml"));
    Deque<Key> ancestors = new ArrayDeque<>();
    List<String> undocumented = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher key = KEY.matcher(lines.get(i));
      if (!key.matches()) {
        continue;
      }
      int indent = key.group(1).length();
      while (!ancestors.isEmpty() && ancestors.peek().indent() >= indent) {
        ancestors.pop();
      }
      String path = (ancestors.isEmpty() ? "" : ancestors.peek().path() + ".") + key.group(2);
      boolean documented = describedAbove(lines, i) || ancestors.stream().anyMatch(Key::documented);
      if (isLeaf(lines, i, indent, key.group(3)) && !documented) {
        undocumented.add(path);
      }
      ancestors.push(new Key(indent, path, documented));
    }
    assertThat(undocumented).isEmpty();
  }

  /** The comment block right above line i has a `# --` description. */
  private static boolean describedAbove(List<String> lines, int i) {
    for (int j = i - 1; j >= 0 && lines.get(j).strip().startsWith("#"); j--) {
      if (lines.get(j).strip().startsWith("# --")) {
        return true;
      }
    }
    return false;
  }

  private static boolean isLeaf(List<String> lines, int i, int indent, String rest) {
    String value = rest.replaceAll("\\s+#.*$", "").strip();
    if (!value.isEmpty()) {
      return true;
    }
    for (int j = i + 1; j < lines.size(); j++) {
      String next = lines.get(j);
      if (next.isBlank() || next.strip().startsWith("#")) {
        continue;
      }
      return next.length() - next.stripLeading().length() <= indent;
    }
    return true;
  }
}
