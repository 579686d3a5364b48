package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.core.TestData;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.snapshot.BatchFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The constraints that {@link RuleChecker#prefetch} computes in combined queries against the same
 * constraints checked with one query each, on the first 50,000 rows of the flights data, loaded
 * into a table and read in place from Parquet.
 */
class RuleFoldingTest {
  static final int ROWS = 50_000;

  /**
   * Every constraint kind, most of them failing on some rows so that failing counts and example
   * rows are compared too. The last {@code where} names a column the batch lacks.
   */
  static final String CONSTRAINTS =
      """
      data:
        columns:
          date: timestamp
          delay: integer
          distance: integer
          origin: string
          destination: string
          delay_gaps: integer
          day_of_week: integer
          day: date
      validation:
        rules:
          - column: date
            notNull: true
            maxAge: P30D
          - column: delay
            min: -30
            max: 120
            meanBetween: [-50, 50]
            stddevBetween: [1, 10]
          - column: delay_gaps
            notNull: true
            completeness: 0.9999
            allowedValues: [0, 1, 2, "+3", "04", "-5"]
          - column: day_of_week
            allowedValues: [0, 1, "02", 4]
          - column: distance
            unique: true
            where: "distance > delay * 10"
          - column: origin
            pattern: "[A-Z]{3}"
            minLength: 4
            allowedValues: [ATL, ORD, "O'H"]
          - column: destination
            pattern: "[A-M].*"
            maxLength: 2
            distinctCountBetween: [10, 20]
          - column: day
            maxAge: P2D
          - column: origin
            where: "origin <> 'ATL' AND delay < 300"
          - column: delay
            where: "no_such_column > 0"
          - condition: "delay < 60 OR delay_gaps IS NULL"
          - condition: "origin <> destination"
      """;

  static final ValidationContext CONTEXT =
      new ValidationContext(ValidationSpec.TRAINING, Instant.parse("2001-02-01T00:00:00Z"), null);

  @TempDir static Path dir;
  static Path parquet;
  static PipelineSpec spec;

  /**
   * Writes the first {@value #ROWS} flights rows with three extra columns to Parquet in row groups
   * of 10,000 rows: {@code delay_gaps} is {@code delay} with a null in every 997th row, {@code
   * day_of_week} is that of {@code date}, and {@code day} is the date without the time.
   */
  @BeforeAll
  static void writeBatch() throws SQLException, IOException {
    parquet = dir.resolve("flights-subset.parquet");
    try (Connection connection = DuckDb.open(1);
        Statement statement = connection.createStatement()) {
      statement.execute(
          "COPY (SELECT date, delay, distance, origin, destination,"
              + " CASE WHEN file_row_number % 997 = 0 THEN NULL ELSE delay END AS delay_gaps,"
              + " dayofweek(date) AS day_of_week, CAST(date AS DATE) AS day"
              + " FROM read_parquet("
              + DuckDb.path(TestData.flights())
              + ", file_row_number = true) WHERE file_row_number < "
              + ROWS
              + " ORDER BY file_row_number) TO "
              + DuckDb.path(parquet)
              + " (FORMAT parquet, ROW_GROUP_SIZE 10000)");
    }
    Path constraints = Files.writeString(dir.resolve("constraints.yaml"), CONSTRAINTS);
    ConstraintsSpec loaded = PipelineSpecs.loadConstraints(constraints);
    spec =
        new PipelineSpec(
            "constraints",
            new SourceSpec(null, parquet.toString(), null, loaded.csv(), null),
            loaded.data(),
            null,
            new FeaturesSpec(null, null, null, null),
            null,
            null,
            loaded.validation(),
            null,
            null);
  }

  static Schema schema() {
    return new Schema(
        List.of(
            new Column("date", ColumnType.TIMESTAMP),
            new Column("delay", ColumnType.INTEGER),
            new Column("distance", ColumnType.INTEGER),
            new Column("origin", ColumnType.STRING),
            new Column("destination", ColumnType.STRING),
            new Column("delay_gaps", ColumnType.INTEGER),
            new Column("day_of_week", ColumnType.INTEGER),
            new Column("day", ColumnType.DATE)));
  }

  /** Checks every rule with a new checker, after {@link RuleChecker#prefetch} when asked. */
  static List<ConstraintResult> check(
      Connection connection, String table, Schema schema, boolean prefetch) throws SQLException {
    RuleChecker checker = new RuleChecker(connection, table, schema, CONTEXT);
    List<RuleSpec> rules = spec.validation().rules();
    if (prefetch) {
      checker.prefetch(rules);
    }
    List<ConstraintResult> results = new ArrayList<>();
    for (RuleSpec rule : rules) {
      results.addAll(checker.check(rule, Set.of()));
    }
    return results;
  }

  static List<ConstraintResult> checkTable(boolean prefetch) throws SQLException {
    try (Connection connection = DuckDb.open(1)) {
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            "CREATE TABLE batch AS SELECT * FROM read_parquet(" + DuckDb.path(parquet) + ")");
      }
      return check(connection, "batch", schema(), prefetch);
    }
  }

  static List<ConstraintResult> checkInPlace(boolean prefetch) {
    return BatchFiles.check(
        parquet,
        spec,
        null,
        1,
        (batch, connection, table) -> {
          assertThat(isView(connection, table)).isTrue();
          return check(connection, table, batch.schema(), prefetch);
        });
  }

  static boolean isView(Connection connection, String name) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT count(*) FROM duckdb_views() WHERE view_name = " + DuckDb.literal(name))) {
      result.next();
      return result.getLong(1) == 1;
    }
  }

  static ConstraintResult constraint(List<ConstraintResult> results, String column, String name) {
    return results.stream()
        .filter(c -> c.column().equals(column) && c.name().equals(name))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void prefetchMatchesSeparateQueriesOnTable() throws SQLException {
    List<ConstraintResult> folded = checkTable(true);
    List<ConstraintResult> separate = checkTable(false);

    assertThat(folded).hasSize(23);
    assertThat(folded).isEqualTo(separate);
  }

  @Test
  void prefetchStoresCountsAndExampleRows() throws SQLException {
    try (Connection connection = DuckDb.open(1)) {
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            "CREATE TABLE batch AS SELECT * FROM read_parquet(" + DuckDb.path(parquet) + ")");
      }
      RuleChecker checker = new RuleChecker(connection, "batch", schema(), CONTEXT);

      checker.prefetch(spec.validation().rules());

      // 15 failing-row counts (not_null and completeness of delay_gaps share one), 9 aggregates
      // and the first value that breaks the pattern of destination.
      assertThat(checker.prefetchedValues()).isEqualTo(25);
      // The 13 failing row constraints other than unique, where not_null and completeness of
      // delay_gaps share one list.
      assertThat(checker.prefetchedExampleLists()).isEqualTo(12);
    }
  }

  @Test
  void prefetchMatchesSeparateQueriesOnParquetView() {
    List<ConstraintResult> folded = checkInPlace(true);
    List<ConstraintResult> separate = checkInPlace(false);

    assertThat(folded).isEqualTo(separate);
  }

  @Test
  void parquetViewMatchesLoadedTable() throws SQLException {
    assertThat(checkInPlace(true)).isEqualTo(checkTable(true));
  }

  @Test
  void foldedConstraintsFailWithExamples() throws SQLException {
    List<ConstraintResult> results = checkTable(true);

    for (String[] failing :
        new String[][] {
          {"delay", "min"},
          {"delay", "max"},
          {"delay_gaps", "not_null"},
          {"delay_gaps", "completeness"},
          {"delay_gaps", "allowed_values"},
          {"day_of_week", "allowed_values"},
          {"distance", "unique"},
          {"distance", "where"},
          {"origin", "min_length"},
          {"destination", "max_length"},
          {"origin", "allowed_values"},
          {"destination", "pattern"},
          {"origin", "where"},
          {"*", "condition"}
        }) {
      ConstraintResult result = constraint(results, failing[0], failing[1]);
      assertThat(result.status())
          .as(failing[0] + " " + failing[1])
          .isEqualTo(ConstraintStatus.FAILED);
      assertThat(result.examples()).as(failing[0] + " " + failing[1]).isNotEmpty();
    }
    assertThat(constraint(results, "delay", "where").observed()).contains("no_such_column");
    assertThat(constraint(results, "day", "max_age").status()).isEqualTo(ConstraintStatus.FAILED);
  }

  @Test
  void allowedValuesMatchesTextComparison() throws SQLException {
    List<ConstraintResult> results = checkTable(true);
    try (Connection connection = DuckDb.open(1);
        Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE batch AS SELECT * FROM read_parquet(" + DuckDb.path(parquet) + ")");
      assertThat(constraint(results, "day_of_week", "allowed_values").failingRows())
          .isEqualTo(
              count(
                  statement,
                  "day_of_week IS NOT NULL AND CAST(day_of_week AS VARCHAR)"
                      + " NOT IN ('0', '1', '02', '4')"));
      assertThat(constraint(results, "delay_gaps", "allowed_values").failingRows())
          .isEqualTo(
              count(
                  statement,
                  "delay_gaps IS NOT NULL AND CAST(delay_gaps AS VARCHAR)"
                      + " NOT IN ('0', '1', '2', '+3', '04', '-5')"));
      assertThat(constraint(results, "origin", "allowed_values").failingRows())
          .isEqualTo(count(statement, "origin IS NOT NULL AND origin NOT IN ('ATL', 'ORD')"));
    }
  }

  @Test
  void canonicalIntegerAcceptsOnlyDuckDbText() {
    assertThat(RuleChecker.isCanonicalInteger("0")).isTrue();
    assertThat(RuleChecker.isCanonicalInteger("-5")).isTrue();
    assertThat(RuleChecker.isCanonicalInteger("9223372036854775807")).isTrue();
    assertThat(RuleChecker.isCanonicalInteger("05")).isFalse();
    assertThat(RuleChecker.isCanonicalInteger("+3")).isFalse();
    assertThat(RuleChecker.isCanonicalInteger("-0")).isFalse();
    assertThat(RuleChecker.isCanonicalInteger("1.0")).isFalse();
    assertThat(RuleChecker.isCanonicalInteger("9223372036854775808")).isFalse();
  }

  static long count(Statement statement, String condition) throws SQLException {
    try (ResultSet result =
        statement.executeQuery("SELECT count(*) FROM batch WHERE " + condition)) {
      result.next();
      return result.getLong(1);
    }
  }
}
