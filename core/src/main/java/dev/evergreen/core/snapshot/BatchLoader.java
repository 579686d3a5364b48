package dev.evergreen.core.snapshot;

import static dev.evergreen.core.data.DuckDb.identifier;
import static dev.evergreen.core.data.DuckDb.literal;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.CsvSpec;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.data.PipelineColumns;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads one CSV or Parquet batch into the DuckDB table {@value #TABLE}, in file order, with the
 * column types a snapshot stores.
 *
 * <p>With {@code readInPlace}, a Parquet file is not copied into DuckDB: {@value #TABLE} is a view
 * over the file, whose column {@code rowid} is the 0-based row number in the file ({@code
 * file_row_number} of DuckDB's {@code read_parquet}), so that {@code rowid + 1} is the row number
 * as it is for the table. Every query then reads the file again, which is faster than a copy when
 * the file is scanned once or twice, as {@code evergreen validate} does. A Parquet file with a
 * column named {@code rowid} or {@code file_row_number}, and every CSV file, is loaded into a table
 * as without {@code readInPlace}.
 *
 * <p>A CSV file is read with every column as text, so that DuckDB's reader only checks the
 * structure (field count, quotes, encoding, line length) and reads every row. Types are then
 * decided over all rows, not a sample: a declared type from {@code data.columns}, otherwise the
 * narrowest type every non-null value fits (integer, double, boolean, date, timestamp, else
 * string). Values are converted by Evergreen's own strict patterns instead of DuckDB's typed CSV
 * reader, because that reader accepts {@code 1.5} for an integer column (rounding it to 2) and
 * {@code 2001-01-01 06:00:00} for a date column (dropping the time) without an error in DuckDB
 * 1.5.6.
 */
final class BatchLoader {
  static final String TABLE = "batch";

  private static final String RAW = "raw_batch";
  private static final String COPY = "batch_copy";
  private static final int MAX_VALUE_CHARS = 80;

  /** DuckDB's names of the Parquet types that can hold infinity and NaN. */
  private static final Set<String> FLOATING_TYPES = Set.of("FLOAT", "REAL", "DOUBLE");

  /** Text that a number parser may read as infinity or NaN, such as {@code -inf}. */
  private static final Pattern NON_FINITE_TEXT =
      Pattern.compile("(?i)\\s*[+-]?(inf|infinity|nan)\\s*");

  /**
   * Rows that DuckDB's CSV sniffer reads to pick column types, its default {@code sample_size} in
   * DuckDB 1.5. Text that first appears after these rows in a column of numbers is a late type
   * change, which is rejected instead of guessed.
   */
  static final long SNIFF_SAMPLE_ROWS = 20_480;

  private static final Logger log = LoggerFactory.getLogger(BatchLoader.class);

  /** A column as read from the file; {@code duckDbType} is {@code VARCHAR} for every CSV column. */
  private record SourceColumn(String name, String duckDbType) {}

  /** The type a column gets and why, for error messages. */
  private record Target(ColumnType type, String reason, String nextStep) {}

  /**
   * A text column that also contains numbers, and its first value that is not a number. Rows are
   * 1-based data rows, header not counted.
   */
  private record MixedColumn(
      long numbers, long nonNull, long firstValueRow, long firstTextRow, String firstText) {
    /**
     * Returns true when the first {@value #SNIFF_SAMPLE_ROWS} rows contain numbers and no text, so
     * that a reader which types columns from a sample of that size would pick a number type.
     */
    boolean textAfterSample() {
      return firstValueRow <= SNIFF_SAMPLE_ROWS && firstTextRow > SNIFF_SAMPLE_ROWS;
    }
  }

  /** The first value of a column that cannot be converted to its target type. */
  private record BadValue(String column, long count, long row, String value) {}

  private final Connection connection;
  private final Path file;
  private final boolean csv;
  private final PipelineSpec spec;
  private final boolean readInPlace;
  private final Map<String, MixedColumn> mixed = new LinkedHashMap<>();
  private boolean view;

  BatchLoader(Connection connection, Path file, boolean csv, PipelineSpec spec) {
    this(connection, file, csv, spec, false);
  }

  /**
   * Creates a loader that, when {@code readInPlace} is true and the file is Parquet, makes {@value
   * #TABLE} a view over the file instead of a table.
   */
  BatchLoader(
      Connection connection, Path file, boolean csv, PipelineSpec spec, boolean readInPlace) {
    this.connection = connection;
    this.file = file;
    this.csv = csv;
    this.spec = spec;
    this.readInPlace = readInPlace;
  }

  /**
   * Copies the rows of the view {@value #TABLE} in file order into a table of the same name, for
   * steps that change rows in place, such as pseudonymisation. Does nothing when it is a table.
   */
  void materialize() throws SQLException {
    if (!view) {
      return;
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE "
              + COPY
              + " AS SELECT * EXCLUDE (rowid) FROM "
              + TABLE
              + " ORDER BY rowid");
      statement.execute("DROP VIEW " + TABLE);
      statement.execute("DROP VIEW IF EXISTS " + RAW);
      statement.execute("ALTER TABLE " + COPY + " RENAME TO " + TABLE);
    }
    view = false;
  }

  /** Loads the file and returns the schema of the loaded table. */
  Schema load() throws SQLException, IOException {
    List<SourceColumn> source = csv ? readCsv() : readParquet();
    long rows = countRows();
    if (rows == 0) {
      throw EvergreenException.invalid(
          file
              + (csv && spec.source().csv().header()
                  ? ": the file has a header line but no data rows."
                  : ": the file contains no rows.")
              + " Ingest a file that contains at least one row.");
    }
    checkRequired(source);
    Map<String, Target> targets = resolveTypes(source);
    checkConversions(source, targets);
    // After checkConversions, so that a value that breaks a declared type or a role is reported
    // as such even when another column changes type on an earlier line.
    rejectLateTypeChanges(targets, source);
    warnAboutMixedColumns(targets, source.size());
    return createTable(source, targets);
  }

  private List<SourceColumn> readCsv() throws SQLException, IOException {
    List<String> names = readCsvText(connection, file, spec.source().csv(), RAW);
    return names.stream().map(name -> new SourceColumn(name, "VARCHAR")).toList();
  }

  /**
   * Reads a CSV file into a new table {@code table} with every column as VARCHAR, in file order,
   * and returns the column names. A quoted empty field is the empty string and an unquoted empty
   * field is null. Structural errors (field count, unclosed quote, encoding, line length) become
   * {@link EvergreenException}s that name the file and line.
   */
  static List<String> readCsvText(Connection connection, Path file, CsvSpec options, String table)
      throws SQLException, IOException {
    List<String> names = CsvFiles.columnNames(file, options);
    String columns =
        names.stream()
            .map(name -> literal(name) + ": 'VARCHAR'")
            .collect(Collectors.joining(", ", "{", "}"));
    String sql =
        "CREATE TABLE "
            + table
            + " AS SELECT * FROM read_csv("
            + DuckDb.path(file)
            + ", auto_detect = false, header = "
            + options.header()
            + ", delim = "
            + literal(options.delimiter())
            + ", quote = '\"', escape = '\"', strict_mode = true, null_padding = false"
            + ", allow_quoted_nulls = false, max_line_size = "
            + CsvFiles.MAX_LINE_BYTES
            + ", encoding = "
            + literal(CsvFiles.duckDbEncoding(options))
            + ", columns = "
            + columns
            + ")";
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw CsvErrors.translate(e, file, options, names);
    }
    return names;
  }

  private List<SourceColumn> readParquet() throws SQLException, IOException {
    ParquetFiles.checkFrame(file);
    String read = "SELECT * FROM read_parquet(" + DuckDb.path(file) + ")";
    try (Statement statement = connection.createStatement()) {
      // NOTE: a view reads only the file's metadata here. A damaged page fails a later query,
      // which callers report as a DuckDB failure instead of an invalid Parquet file.
      statement.execute((readInPlace ? "CREATE VIEW " : "CREATE TABLE ") + RAW + " AS " + read);
    } catch (SQLException e) {
      throw EvergreenException.invalid(
          file
              + ": cannot read the file as Parquet: "
              + ParquetFiles.reason(e.getMessage())
              + ". Check that the file is a complete Parquet file, or set source.format to csv"
              + " if it is a CSV file.");
    }
    List<SourceColumn> columns = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = "
                    + literal(RAW)
                    + " ORDER BY column_index")) {
      while (result.next()) {
        columns.add(new SourceColumn(result.getString(1), result.getString(2)));
      }
    }
    if (readInPlace) {
      replaceView(columns);
    }
    return columns;
  }

  /**
   * Replaces the view {@value #RAW} by one that adds the file's row numbers as column {@code
   * rowid}, or by a table when a column of the file has the name of that column or of DuckDB's
   * {@code file_row_number}.
   */
  private void replaceView(List<SourceColumn> columns) throws SQLException {
    boolean clash =
        columns.stream()
            .anyMatch(
                column ->
                    column.name().equalsIgnoreCase("rowid")
                        || column.name().equalsIgnoreCase("file_row_number"));
    try (Statement statement = connection.createStatement()) {
      if (clash) {
        statement.execute("DROP VIEW " + RAW);
        statement.execute(
            "CREATE TABLE " + RAW + " AS SELECT * FROM read_parquet(" + DuckDb.path(file) + ")");
        return;
      }
      statement.execute(
          "CREATE OR REPLACE VIEW "
              + RAW
              + " AS SELECT * EXCLUDE (file_row_number), file_row_number AS rowid FROM read_parquet("
              + DuckDb.path(file)
              + ", file_row_number = true)");
    }
    view = true;
  }

  private long countRows() throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery("SELECT count(*) FROM " + RAW)) {
      result.next();
      return result.getLong(1);
    }
  }

  private void checkRequired(List<SourceColumn> source) {
    List<String> present = source.stream().map(SourceColumn::name).toList();
    for (String name : present) {
      // DuckDB tables have a rowid pseudo-column that keeps the file's row order; a real column
      // of that name would hide it.
      if (name.equalsIgnoreCase("rowid")) {
        throw EvergreenException.invalid(
            file
                + (csv && spec.source().csv().header() ? ":1" : "")
                + ": the column name '"
                + name
                + "' is reserved. Rename the column.");
      }
    }
    List<String> missing =
        PipelineColumns.required(spec).stream().filter(name -> !present.contains(name)).toList();
    if (missing.isEmpty()) {
      return;
    }
    String described =
        missing.stream()
            .map(name -> "'" + name + "' (" + PipelineColumns.role(spec, name) + ")")
            .collect(Collectors.joining(", "));
    throw EvergreenException.invalid(
        file
            + (csv && spec.source().csv().header() ? ":1" : "")
            + ": missing required column"
            + (missing.size() == 1 ? " " : "s ")
            + described
            + ". The file has the columns "
            + String.join(", ", present)
            + ". Add the missing column to the file, or correct its name in the pipeline.");
  }

  private Map<String, Target> resolveTypes(List<SourceColumn> source) throws SQLException {
    Map<String, ColumnType> declared = PipelineColumns.declaredTypes(spec);
    List<String> toInfer = new ArrayList<>();
    Map<String, Target> targets = new LinkedHashMap<>();
    for (SourceColumn column : source) {
      ColumnType type = declared.get(column.name());
      if (type != null) {
        if (!csv && ColumnTypes.fromDuckDb(column.duckDbType()).isEmpty()) {
          throw unsupportedType(column, type);
        }
        checkDeclaredRole(column.name(), type);
        targets.put(
            column.name(),
            new Target(
                type,
                "data.columns declares '" + column.name() + "' as " + ColumnTypes.specName(type),
                "Correct the value, or change data.columns."
                    + column.name()
                    + " in the pipeline."));
      } else if (csv) {
        toInfer.add(column.name());
      } else {
        ColumnType mapped =
            ColumnTypes.fromDuckDb(column.duckDbType())
                .orElseThrow(() -> unsupportedType(column, null));
        targets.put(column.name(), new Target(mapped, "", ""));
      }
    }
    if (!toInfer.isEmpty()) {
      Map<String, ColumnType> inferred = inferCsvTypes(toInfer);
      inferred.forEach((name, type) -> targets.put(name, new Target(type, "", "")));
    }
    for (SourceColumn column : source) {
      if (!declared.containsKey(column.name())) {
        targets.put(column.name(), forceRoleType(column.name(), targets.get(column.name())));
      }
    }
    return targets;
  }

  /**
   * Rejects undeclared text columns whose values are numbers for the first {@value
   * #SNIFF_SAMPLE_ROWS} rows and text later, such as 30,000 integers followed by {@code n/a}. Such
   * a column is most likely numeric with a bad value, but could also be text that starts with
   * numeric codes, so only a declaration in data.columns can decide. Columns that a role forces to
   * a number are checked by {@link #checkConversions}, which names their role.
   */
  private void rejectLateTypeChanges(Map<String, Target> targets, List<SourceColumn> source) {
    List<String> late =
        mixed.entrySet().stream()
            .filter(entry -> targets.get(entry.getKey()).type() == ColumnType.STRING)
            .filter(entry -> entry.getValue().textAfterSample())
            .map(Map.Entry::getKey)
            .toList();
    if (late.isEmpty()) {
      return;
    }
    String name = late.get(0);
    for (String other : late) {
      if (mixed.get(other).firstTextRow() < mixed.get(name).firstTextRow()) {
        name = other;
      }
    }
    MixedColumn column = mixed.get(name);
    List<String> names = source.stream().map(SourceColumn::name).toList();
    long line = CsvFiles.lineOfRow(file, spec.source().csv(), column.firstTextRow(), source.size());
    String chosen = name;
    List<String> others = late.stream().filter(other -> !other.equals(chosen)).toList();
    throw EvergreenException.invalid(
        file
            + ":"
            + line
            + ": column '"
            + name
            + "' (field "
            + (names.indexOf(name) + 1)
            + ") has the value '"
            + shorten(column.firstText())
            + "', which is not a number, after "
            + (column.firstTextRow() - 1)
            + " rows of numbers. Evergreen rejects a column that changes from numbers to text"
            + " after the first "
            + SNIFF_SAMPLE_ROWS
            + " rows instead of guessing its type."
            + (others.isEmpty()
                ? ""
                : " Columns that change the same way later in the file: "
                    + String.join(", ", others)
                    + ".")
            + " If the column holds text, declare it in the pipeline as data.columns."
            + name
            + ": string; if it holds numbers, correct the value or leave the field empty for a"
            + " missing value.");
  }

  /**
   * Logs text columns that contain both numbers and text within the first {@value
   * #SNIFF_SAMPLE_ROWS} rows: they are kept as text, and the log names the first text value and its
   * line.
   */
  private void warnAboutMixedColumns(Map<String, Target> targets, int columnCount) {
    mixed.forEach(
        (name, column) -> {
          if (targets.get(name).type() == ColumnType.STRING) {
            log.warn(
                "{}: column '{}' contains numbers in {} of {} rows but also text such as '{}' at line {};"
                    + " it is stored as string. Declare its type in data.columns to reject such"
                    + " files instead.",
                file,
                name,
                column.numbers(),
                column.nonNull(),
                shorten(column.firstText()),
                CsvFiles.lineOfRow(file, spec.source().csv(), column.firstTextRow(), columnCount));
          }
        });
  }

  /**
   * Rejects a Parquet column whose type a snapshot cannot store, such as a list, struct or map.
   *
   * @param declared the type {@code data.columns} declares, or null when the column is undeclared
   */
  private EvergreenException unsupportedType(SourceColumn column, ColumnType declared) {
    String type = shorten(column.duckDbType());
    String kind = nestedKind(column.duckDbType());
    String described =
        file
            + ": column '"
            + column.name()
            + "' has the Parquet type "
            + type
            + (kind == null ? "" : " (a " + kind + ")")
            + ", which a snapshot cannot store.";
    if (declared == null) {
      return EvergreenException.invalid(
          described
              + " Convert the column to boolean, integer, double, string, date or timestamp, or"
              + " remove it from the file.");
    }
    String name = ColumnTypes.specName(declared);
    return EvergreenException.invalid(
        described
            + " data.columns declares it as "
            + name
            + ", but Evergreen does not convert "
            + (kind == null ? "this type" : kind + "s")
            + " to "
            + name
            + ". Write the column into the file as a plain "
            + name
            + " column"
            + (declared == ColumnType.STRING && kind != null ? ", for example as JSON text" : "")
            + ", or remove it from the file and from data.columns in the pipeline.");
  }

  /** Names the kind of a nested DuckDB type, such as {@code struct}, or returns null. */
  private static String nestedKind(String duckDbType) {
    String type = duckDbType.strip().toUpperCase(Locale.ROOT);
    if (type.startsWith("STRUCT")) {
      return "struct";
    }
    if (type.startsWith("MAP")) {
      return "map";
    }
    if (type.startsWith("UNION")) {
      return "union";
    }
    if (type.endsWith("]")) {
      return "list";
    }
    return null;
  }

  /** Rejects a declared type that cannot serve the column's role in the pipeline. */
  private void checkDeclaredRole(String name, ColumnType type) {
    boolean needsNumber =
        spec.features().numeric().contains(name) || PipelineColumns.isNumericLabel(spec, name);
    if (needsNumber && !type.isNumeric()) {
      throw EvergreenException.invalid(
          "data.columns declares '"
              + name
              + "' as "
              + ColumnTypes.specName(type)
              + ", but it is "
              + PipelineColumns.role(spec, name)
              + " and must be numeric. Declare it as integer or double.");
    }
    if (PipelineColumns.isDerivedSource(spec, name)
        && type != ColumnType.TIMESTAMP
        && type != ColumnType.DATE) {
      throw EvergreenException.invalid(
          "data.columns declares '"
              + name
              + "' as "
              + ColumnTypes.specName(type)
              + ", but it is "
              + PipelineColumns.role(spec, name)
              + ". Declare it as timestamp or date.");
    }
  }

  /**
   * Returns the type an undeclared column must have for its role: numeric features and a label
   * compared with {@code greaterThan} hold numbers, sources of derived features hold timestamps.
   * Forcing the type makes a value that does not fit an error that names its line.
   */
  private Target forceRoleType(String name, Target found) {
    boolean needsNumber =
        spec.features().numeric().contains(name) || PipelineColumns.isNumericLabel(spec, name);
    if (needsNumber && !found.type().isNumeric()) {
      return new Target(
          ColumnType.DOUBLE,
          "'" + name + "' is " + PipelineColumns.role(spec, name) + " and must hold numbers",
          "Correct the value, or declare the column's type in data.columns.");
    }
    if (PipelineColumns.isDerivedSource(spec, name)
        && found.type() != ColumnType.TIMESTAMP
        && found.type() != ColumnType.DATE) {
      String features =
          spec.features().derived().stream()
              .filter(d -> name.equals(d.from()))
              .map(DerivedFeature::name)
              .collect(Collectors.joining(", "));
      return new Target(
          ColumnType.TIMESTAMP,
          "'"
              + name
              + "' is the source of derived feature "
              + features
              + " and must hold timestamps",
          "Correct the value.");
    }
    return found;
  }

  /** Picks, for each text column, the narrowest type that every non-null value fits. */
  private Map<String, ColumnType> inferCsvTypes(List<String> names) throws SQLException {
    List<ColumnType> candidates =
        List.of(
            ColumnType.INTEGER,
            ColumnType.DOUBLE,
            ColumnType.BOOLEAN,
            ColumnType.DATE,
            ColumnType.TIMESTAMP);
    StringBuilder sql = new StringBuilder("SELECT ");
    for (int i = 0; i < names.size(); i++) {
      String column = identifier(names.get(i));
      sql.append(i == 0 ? "" : ", ").append("count(").append(column).append(")");
      for (ColumnType candidate : candidates) {
        sql.append(", count(*) FILTER (WHERE ")
            .append(TextValues.shaped(column, candidate))
            .append(")");
      }
      // The first row that is not a number, for the warning about text in a numeric column.
      String notNumber =
          column
              + " IS NOT NULL AND NOT coalesce("
              + TextValues.shaped(column, ColumnType.DOUBLE)
              + ", false)";
      sql.append(", min(rowid) FILTER (WHERE ").append(notNumber).append(")");
      sql.append(", min(rowid) FILTER (WHERE ").append(column).append(" IS NOT NULL)");
      sql.append(", arg_min(")
          .append(column)
          .append(", rowid) FILTER (WHERE ")
          .append(notNumber)
          .append(")");
    }
    sql.append(" FROM ").append(RAW);
    Map<String, ColumnType> types = new LinkedHashMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      result.next();
      int stride = 1 + candidates.size() + 3;
      for (int i = 0; i < names.size(); i++) {
        int base = i * stride + 1;
        long nonNull = result.getLong(base);
        ColumnType type = ColumnType.STRING;
        for (int c = 0; c < candidates.size() && nonNull > 0; c++) {
          if (result.getLong(base + 1 + c) == nonNull) {
            type = candidates.get(c);
            break;
          }
        }
        long numbers = result.getLong(base + 2);
        if (type == ColumnType.STRING && numbers > 0) {
          mixed.put(
              names.get(i),
              new MixedColumn(
                  numbers,
                  nonNull,
                  result.getLong(base + 2 + candidates.size()) + 1,
                  result.getLong(base + 1 + candidates.size()) + 1,
                  result.getString(base + 3 + candidates.size())));
        }
        types.put(names.get(i), type);
      }
    }
    return types;
  }

  /** Finds values that do not fit their column's target type and rejects the file if any exist. */
  private void checkConversions(List<SourceColumn> source, Map<String, Target> targets)
      throws SQLException {
    List<String> checked = new ArrayList<>();
    StringBuilder sql = new StringBuilder("SELECT ");
    for (SourceColumn column : source) {
      Optional<String> valid = validity(column, targets.get(column.name()).type());
      if (valid.isEmpty()) {
        continue;
      }
      String name = identifier(column.name());
      String invalid = name + " IS NOT NULL AND NOT coalesce(" + valid.get() + ", false)";
      sql.append(checked.isEmpty() ? "" : ", ")
          .append("count(*) FILTER (WHERE ")
          .append(invalid)
          .append("), min(rowid) FILTER (WHERE ")
          .append(invalid)
          .append("), arg_min(CAST(")
          .append(name)
          .append(" AS VARCHAR), rowid) FILTER (WHERE ")
          .append(invalid)
          .append(")");
      checked.add(column.name());
    }
    if (checked.isEmpty()) {
      return;
    }
    sql.append(" FROM ").append(RAW);
    BadValue first = null;
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      result.next();
      for (int i = 0; i < checked.size(); i++) {
        long count = result.getLong(3 * i + 1);
        if (count == 0) {
          continue;
        }
        long row = result.getLong(3 * i + 2) + 1;
        if (first == null || row < first.row()) {
          first = new BadValue(checked.get(i), count, row, result.getString(3 * i + 3));
        }
      }
    }
    if (first != null) {
      throw badValue(first, targets.get(first.column()), source.size());
    }
  }

  /**
   * Returns a SQL condition that is true when a non-null value of {@code column} converts to {@code
   * target} without loss, or empty when every value converts.
   */
  private static Optional<String> validity(SourceColumn column, ColumnType target) {
    String name = identifier(column.name());
    if (target == ColumnType.STRING) {
      return Optional.empty();
    }
    if (column.duckDbType().equals("VARCHAR")) {
      return Optional.of(TextValues.valid(name, target));
    }
    String targetType = ColumnTypes.duckDbType(target);
    boolean floating = FLOATING_TYPES.contains(column.duckDbType());
    if (column.duckDbType().equals(targetType)) {
      // A snapshot stores only finite doubles (see TextValues.valid).
      return floating ? Optional.of("isfinite(" + name + ")") : Optional.empty();
    }
    String cast = "TRY_CAST(" + name + " AS " + targetType + ")";
    Optional<ColumnType> mapped = ColumnTypes.fromDuckDb(column.duckDbType());
    if (mapped.isPresent() && mapped.get() == target) {
      // Same logical type in another width: only an overflow, such as UBIGINT beyond BIGINT, or
      // an infinite or NaN FLOAT fails.
      return Optional.of(cast + " IS NOT NULL" + (floating ? " AND isfinite(" + cast + ")" : ""));
    }
    // Another logical type: the value must survive the round trip, so 1.5 is no integer and a
    // timestamp with a time of day is no date.
    return Optional.of(
        cast + " IS NOT NULL AND TRY_CAST(" + cast + " AS " + column.duckDbType() + ") = " + name);
  }

  private EvergreenException badValue(BadValue bad, Target target, int columnCount) {
    String where;
    if (csv) {
      long line = CsvFiles.lineOfRow(file, spec.source().csv(), bad.row(), columnCount);
      where = file + ":" + line;
    } else {
      where = file + ": row " + bad.row();
    }
    String reason = target.reason().isEmpty() ? "" : " (" + target.reason() + ")";
    String others =
        bad.count() > 1 ? " " + bad.count() + " rows have such values in this column." : "";
    String forms = "";
    String nextStep = target.nextStep();
    if (target.type() == ColumnType.DOUBLE && isNonFinite(bad.value())) {
      forms =
          " A double must be a finite number from -1.7976931348623157E308 to"
              + " 1.7976931348623157E308, so infinity, NaN and numbers that overflow, such as"
              + " 1e400, are rejected.";
      nextStep =
          csv
              ? "Correct the value, or leave the field empty for a missing value."
              : "Write null instead of infinite and NaN values in the file, or remove those rows.";
    } else if (target.type() == ColumnType.TIMESTAMP) {
      forms = " " + TextValues.TIMESTAMP_FORMS;
    } else if (target.type() == ColumnType.DATE) {
      forms = " " + TextValues.DATE_FORMS;
    }
    return EvergreenException.invalid(
        where
            + ": column '"
            + bad.column()
            + "' has the value '"
            + shorten(bad.value())
            + "', which is not a valid "
            + ColumnTypes.specName(target.type())
            + reason
            + "."
            + others
            + forms
            + " "
            + nextStep);
  }

  /**
   * Returns true when {@code value}, the text of a rejected double, is infinite or NaN, or a number
   * that overflows a double, such as {@code 1e400}.
   */
  private static boolean isNonFinite(String value) {
    if (value == null) {
      return false;
    }
    if (NON_FINITE_TEXT.matcher(value).matches()) {
      return true;
    }
    try {
      return !Double.isFinite(Double.parseDouble(value.strip()));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private Schema createTable(List<SourceColumn> source, Map<String, Target> targets)
      throws SQLException {
    List<Column> columns = new ArrayList<>();
    StringBuilder select = new StringBuilder();
    boolean converted = false;
    for (SourceColumn column : source) {
      ColumnType type = targets.get(column.name()).type();
      String name = identifier(column.name());
      select.append(select.isEmpty() ? "" : ", ");
      converted |= !column.duckDbType().equals(ColumnTypes.duckDbType(type));
      if (column.duckDbType().equals(ColumnTypes.duckDbType(type))) {
        select.append(name);
      } else if (type == ColumnType.STRING) {
        select.append(ColumnTypes.text(name, ColumnTypes.fromDuckDb(column.duckDbType()).get()));
        select.append(" AS ").append(name);
      } else if (column.duckDbType().equals("VARCHAR")) {
        select.append(TextValues.cast(name, type)).append(" AS ").append(name);
      } else {
        select.append("CAST(").append(name).append(" AS ").append(ColumnTypes.duckDbType(type));
        select.append(") AS ").append(name);
      }
      columns.add(new Column(column.name(), type));
    }
    try (Statement statement = connection.createStatement()) {
      if (view && converted) {
        // The conversions run in every query of the view, and the view depends on RAW.
        statement.execute("CREATE VIEW " + TABLE + " AS SELECT " + select + ", rowid FROM " + RAW);
      } else if (view) {
        statement.execute("ALTER VIEW " + RAW + " RENAME TO " + TABLE);
      } else if (converted) {
        statement.execute("CREATE TABLE " + TABLE + " AS SELECT " + select + " FROM " + RAW);
        statement.execute("DROP TABLE " + RAW);
      } else {
        // Every column already has its stored type, as in most Parquet files: renaming the table
        // keeps its rows and order without a second copy, which takes seconds at 10 million rows.
        statement.execute("ALTER TABLE " + RAW + " RENAME TO " + TABLE);
      }
    }
    return new Schema(columns);
  }

  static String shorten(String value) {
    if (value == null || value.length() <= MAX_VALUE_CHARS) {
      return value;
    }
    return value.substring(0, MAX_VALUE_CHARS) + "... (" + value.length() + " characters)";
  }
}
