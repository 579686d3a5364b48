package dev.evergreen.api.pipeline;

/**
 * Options for reading CSV batches.
 *
 * @param delimiter one character, {@code ,} by default
 * @param header whether the first line holds the column names, true by default
 * @param encoding {@code utf-8} (default) or {@code latin-1}
 */
public record CsvSpec(String delimiter, Boolean header, String encoding) {
  public static final CsvSpec DEFAULT = new CsvSpec(null, null, null);

  public CsvSpec {
    delimiter = delimiter == null ? "," : delimiter;
    header = header == null ? Boolean.TRUE : header;
    encoding = encoding == null ? "utf-8" : encoding;
  }
}
