package dev.evergreen.core.tracking;

import dev.evergreen.api.EvergreenException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parser for the MLflow search syntax: filters such as {@code metrics.auc > 0.5 AND params.depth =
 * '6' AND tags."mlflow.runName" LIKE 'cv-%'}, and order clauses such as {@code metrics.auc DESC}.
 * Clauses are joined with AND only, as in MLflow. Keys may be quoted with double quotes or
 * backticks; an identifier without an entity prefix is an attribute.
 */
public final class SearchFilter {
  /** What a clause compares. */
  public enum Entity {
    METRIC,
    PARAM,
    TAG,
    ATTRIBUTE
  }

  /**
   * One comparison.
   *
   * @param comparator upper case: {@code =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN}
   * @param values one value, or several for IN and NOT IN; numbers stay text until compared
   */
  public record Clause(Entity entity, String key, String comparator, List<String> values) {
    public Clause {
      values = List.copyOf(values);
    }

    /** Returns the single value parsed as a number, or throws INVALID_INPUT naming the clause. */
    public double number() {
      try {
        return Double.parseDouble(values.get(0));
      } catch (NumberFormatException e) {
        throw EvergreenException.invalid(
            "filter compares "
                + describe()
                + " with '"
                + values.get(0)
                + "', which is not a number; write a numeric literal such as 0.5");
      }
    }

    public String describe() {
      return entity.name().toLowerCase(Locale.ROOT) + " '" + key + "'";
    }
  }

  /** One key of an {@code order_by} list. */
  public record OrderKey(Entity entity, String key, boolean ascending) {}

  private static final Set<String> COMPARATORS =
      Set.of("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN");

  /**
   * Comparators allowed on text: params, tags and text attributes. MLflow allows {@code =, !=,
   * LIKE, ILIKE} on params and tags and adds {@code IN, NOT IN} on text attributes. Here all six
   * apply to all three, and ordering comparators are rejected as MLflow rejects them.
   */
  public static final List<String> TEXT_COMPARATORS =
      List.of("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN");

  private SearchFilter() {}

  /** Parses a filter; null or blank returns no clauses. */
  public static List<Clause> parse(String filter) {
    List<Clause> clauses = new ArrayList<>();
    if (filter == null || filter.isBlank()) {
      return clauses;
    }
    Scanner scanner = new Scanner(filter);
    while (true) {
      clauses.add(clause(scanner));
      scanner.skipSpace();
      if (scanner.atEnd()) {
        return clauses;
      }
      String word = scanner.word();
      if (!word.equalsIgnoreCase("AND")) {
        throw scanner.error("expected AND between clauses, found '" + word + "'");
      }
    }
  }

  /** Parses one {@code order_by} entry such as {@code metrics.auc DESC} or {@code name}. */
  public static OrderKey parseOrder(String text) {
    Scanner scanner = new Scanner(text);
    Identifier identifier = scanner.identifier();
    scanner.skipSpace();
    boolean ascending = true;
    if (!scanner.atEnd()) {
      String direction = scanner.word().toUpperCase(Locale.ROOT);
      if (direction.equals("DESC")) {
        ascending = false;
      } else if (!direction.equals("ASC")) {
        throw scanner.error("expected ASC or DESC after the order key, found '" + direction + "'");
      }
      scanner.skipSpace();
      if (!scanner.atEnd()) {
        throw scanner.error("unexpected text after the direction");
      }
    }
    return new OrderKey(identifier.entity(), identifier.key(), ascending);
  }

  /**
   * Matches an SQL LIKE pattern: {@code %} matches any text and {@code _} one character. LIKE is
   * case-sensitive and ILIKE is not, as in MLflow.
   */
  public static boolean like(String pattern, String text, boolean ignoreCase) {
    StringBuilder regex = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char c : pattern.toCharArray()) {
      if (c == '%' || c == '_') {
        regex.append(Pattern.quote(literal.toString()));
        literal.setLength(0);
        regex.append(c == '%' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    regex.append(Pattern.quote(literal.toString()));
    int flags = Pattern.DOTALL | (ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0);
    return Pattern.compile(regex.toString(), flags).matcher(text).matches();
  }

  /**
   * Throws INVALID_INPUT, naming the key, the comparator and the allowed ones, unless the clause
   * uses one of {@link #TEXT_COMPARATORS}.
   */
  public static void checkTextComparator(Clause clause) {
    if (!TEXT_COMPARATORS.contains(clause.comparator())) {
      throw EvergreenException.invalid(
          "invalid comparator '"
              + clause.comparator()
              + "' on "
              + clause.describe()
              + ", which is text; use one of "
              + String.join(", ", TEXT_COMPARATORS));
    }
  }

  /**
   * Compares text by a comparator of a clause; null never matches.
   *
   * @throws EvergreenException INVALID_INPUT for a comparator outside {@link #TEXT_COMPARATORS}
   */
  public static boolean compareText(Clause clause, String actual) {
    checkTextComparator(clause);
    if (actual == null) {
      return false;
    }
    String expected = clause.values().get(0);
    return switch (clause.comparator()) {
      case "=" -> actual.equals(expected);
      case "!=" -> !actual.equals(expected);
      case "LIKE" -> like(expected, actual, false);
      case "ILIKE" -> like(expected, actual, true);
      case "IN" -> clause.values().contains(actual);
      case "NOT IN" -> !clause.values().contains(actual);
      default -> throw new IllegalStateException("unknown comparator " + clause.comparator());
    };
  }

  /** Compares a number by a numeric comparator of a clause; null never matches. */
  public static boolean compareNumber(Clause clause, Double actual) {
    if (actual == null) {
      return false;
    }
    double expected = clause.number();
    return switch (clause.comparator()) {
      case "=" -> actual == expected;
      case "!=" -> actual != expected;
      case "<" -> actual < expected;
      case "<=" -> actual <= expected;
      case ">" -> actual > expected;
      case ">=" -> actual >= expected;
      default ->
          throw EvergreenException.invalid(
              "filter uses "
                  + clause.comparator()
                  + " on "
                  + clause.describe()
                  + ", which is numeric; use one of =, !=, <, <=, >, >=");
    };
  }

  private static Clause clause(Scanner scanner) {
    Identifier identifier = scanner.identifier();
    String comparator = scanner.comparator();
    List<String> values = new ArrayList<>();
    if (comparator.equals("IN") || comparator.equals("NOT IN")) {
      scanner.expect('(');
      while (true) {
        values.add(scanner.value());
        scanner.skipSpace();
        if (scanner.peek() == ',') {
          scanner.expect(',');
          continue;
        }
        scanner.expect(')');
        break;
      }
    } else {
      values.add(scanner.value());
    }
    return new Clause(identifier.entity(), identifier.key(), comparator, values);
  }

  private record Identifier(Entity entity, String key) {}

  /** Character scanner over one filter or order text; errors name the position. */
  private static final class Scanner {
    private final String text;
    private int position;

    Scanner(String text) {
      this.text = text;
    }

    boolean atEnd() {
      return position >= text.length();
    }

    char peek() {
      return atEnd() ? '\0' : text.charAt(position);
    }

    void skipSpace() {
      while (!atEnd() && Character.isWhitespace(peek())) {
        position++;
      }
    }

    void expect(char c) {
      skipSpace();
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      position++;
    }

    String word() {
      skipSpace();
      int start = position;
      while (!atEnd() && (Character.isLetterOrDigit(peek()) || peek() == '_')) {
        position++;
      }
      if (start == position) {
        throw error("expected a word");
      }
      return text.substring(start, position);
    }

    Identifier identifier() {
      skipSpace();
      String first = peek() == '"' || peek() == '`' ? quoted() : word();
      if (peek() != '.') {
        return new Identifier(Entity.ATTRIBUTE, first);
      }
      Entity entity = entity(first);
      position++;
      if (peek() == '"' || peek() == '`') {
        return new Identifier(entity, quoted());
      }
      int start = position;
      while (!atEnd() && !Character.isWhitespace(peek()) && "=!<>(),".indexOf(peek()) < 0) {
        position++;
      }
      if (start == position) {
        throw error("expected a key after '" + first + ".'");
      }
      return new Identifier(entity, text.substring(start, position));
    }

    private Entity entity(String prefix) {
      return switch (prefix.toLowerCase(Locale.ROOT)) {
        case "metric", "metrics" -> Entity.METRIC;
        case "param", "params", "parameter", "parameters" -> Entity.PARAM;
        case "tag", "tags" -> Entity.TAG;
        case "attribute", "attributes", "attr", "run" -> Entity.ATTRIBUTE;
        default ->
            throw error(
                "unknown entity '"
                    + prefix
                    + "'; use metrics., params., tags. or attributes. before the key");
      };
    }

    String comparator() {
      skipSpace();
      int start = position;
      while (!atEnd() && "=!<>".indexOf(peek()) >= 0) {
        position++;
      }
      String symbol = text.substring(start, position);
      if (symbol.isEmpty()) {
        String word = word().toUpperCase(Locale.ROOT);
        if (word.equals("NOT")) {
          String next = word().toUpperCase(Locale.ROOT);
          symbol = "NOT " + next;
        } else {
          symbol = word;
        }
      }
      if (!COMPARATORS.contains(symbol)) {
        throw error(
            "unknown comparator '" + symbol + "'; use =, !=, <, <=, >, >=, LIKE, ILIKE or IN");
      }
      return symbol;
    }

    String value() {
      skipSpace();
      char c = peek();
      if (c == '\'' || c == '"') {
        return quoted();
      }
      int start = position;
      while (!atEnd() && !Character.isWhitespace(peek()) && "(),".indexOf(peek()) < 0) {
        position++;
      }
      if (start == position) {
        throw error("expected a value");
      }
      return text.substring(start, position);
    }

    /** Reads text between matching quotes; a doubled quote inside stands for one quote. */
    String quoted() {
      char quote = peek();
      position++;
      StringBuilder value = new StringBuilder();
      while (!atEnd()) {
        char c = text.charAt(position++);
        if (c == quote) {
          if (peek() == quote) {
            value.append(quote);
            position++;
            continue;
          }
          return value.toString();
        }
        value.append(c);
      }
      throw error("missing closing " + quote);
    }

    EvergreenException error(String problem) {
      return EvergreenException.invalid(
          "invalid search expression '"
              + text
              + "' at character "
              + (position + 1)
              + ": "
              + problem);
    }
  }
}
