package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;
import java.util.Base64;

/**
 * Decodes a request field that carries bytes as base64 in the standard alphabet (RFC 4648, section
 * 4), with errors that name the field, what is wrong and where, in place of the messages of {@link
 * Base64.Decoder}.
 *
 * <p>White space is skipped, so that the line breaks {@code base64} writes every 76 characters are
 * allowed. Padding with {@code =} is optional, as in {@link Base64#getDecoder()}, but when present
 * it must complete the last group of 4 characters and end the value.
 */
final class Base64Field {
  private Base64Field() {}

  /**
   * Returns the bytes a base64 value encodes.
   *
   * @param field the request field, such as {@code file}, for the message
   * @param remedy what to send instead, the end of every message
   * @throws EvergreenException INVALID_INPUT naming the first character outside the alphabet and
   *     its index in the value, a character after the padding, a wrong amount of padding, or a
   *     length that no base64 encoding has
   */
  static byte[] decode(String value, String field, String remedy) {
    StringBuilder encoded = new StringBuilder(value.length());
    int firstPadding = -1;
    int padding = 0;
    for (int i = 0; i < value.length(); ) {
      int c = value.codePointAt(i);
      if (isWhiteSpace(c)) {
        i += Character.charCount(c);
        continue;
      }
      if (c == '=') {
        firstPadding = padding == 0 ? i : firstPadding;
        padding++;
      } else if (isAlphabet(c)) {
        if (padding > 0) {
          throw invalid(
              field,
              "the character "
                  + show(c)
                  + " at index "
                  + i
                  + " follows the '=' padding at index "
                  + firstPadding
                  + ", but padding may only end the value",
              remedy);
        }
        encoded.append((char) c);
      } else {
        throw invalid(field, badCharacter(c, i), remedy);
      }
      i += Character.charCount(c);
    }

    int characters = encoded.length();
    if (characters == 0) {
      throw invalid(
          field,
          padding == 0 ? "it contains only white space" : "it contains only '=' padding",
          remedy);
    }
    int rest = characters % 4;
    if (rest == 1) {
      throw invalid(
          field,
          "it has "
              + characters
              + " base64 characters, 1 more than a multiple of 4, which no encoding produces, so"
              + " the value is cut short or has a stray character",
          remedy);
    }
    int needed = rest == 0 ? 0 : 4 - rest;
    if (padding > 0 && padding != needed) {
      throw invalid(
          field,
          "it ends with "
              + padding
              + " '=' after "
              + characters
              + " base64 characters, which need "
              + (needed == 0 ? "no padding" : needed + " '=' or none"),
          remedy);
    }
    try {
      return Base64.getDecoder().decode(encoded.toString());
    } catch (IllegalArgumentException e) {
      // The checks above cover the rules that Base64.Decoder documents, so this is a safeguard.
      throw invalid(field, "it cannot be decoded", remedy);
    }
  }

  private static String badCharacter(int c, int index) {
    String where = "the character " + show(c) + " at index " + index;
    if (c == '-' || c == '_') {
      return where
          + " belongs to the URL-safe base64 alphabet, but this field takes the standard one,"
          + " with '+' in place of '-' and '/' in place of '_'";
    }
    return where + " is not in the base64 alphabet of A-Z, a-z, 0-9, '+' and '/', with '=' padding";
  }

  private static EvergreenException invalid(String field, String problem, String remedy) {
    return EvergreenException.invalid(
        "request field '" + field + "' is not valid base64: " + problem + "; " + remedy);
  }

  /** Returns a character as a message shows it: quoted when printable ASCII, else as U+XXXX. */
  private static String show(int c) {
    if (c > 0x20 && c < 0x7f) {
      return "'" + (char) c + "'";
    }
    return String.format("U+%04X", c);
  }

  private static boolean isAlphabet(int c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '+'
        || c == '/';
  }

  /** Returns whether a character is white space as the regular expression {@code \s} matches. */
  private static boolean isWhiteSpace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
  }
}
