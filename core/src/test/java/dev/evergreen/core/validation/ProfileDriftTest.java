package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.core.TestData;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.ProfileBuilder;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compares drift measured from profiles with drift measured from the rows of the same two flight
 * months: January as the reference, and February unchanged or shifted (distance 25% longer, Atlanta
 * and Dallas flights relabelled as Chicago O'Hare, departures three hours later).
 */
class ProfileDriftTest {
  /** Largest difference accepted between a sketched and an exact distance metric. */
  static final double SKETCH_TOLERANCE = 0.02;

  /** Largest difference accepted in PSI, whose decile edges come from the sketch. */
  static final double PSI_TOLERANCE = 0.03;

  static final Schema SCHEMA =
      new Schema(
          List.of(
              new Column("date", ColumnType.TIMESTAMP),
              new Column("delay", ColumnType.INTEGER),
              new Column("distance", ColumnType.INTEGER),
              new Column("origin", ColumnType.STRING),
              new Column("destination", ColumnType.STRING)));

  static final PipelineSpec SPEC = TestPipelines.flights("");

  @TempDir static Path dir;
  static Path january;
  static Path february;
  static Path shifted;

  @BeforeAll
  static void writeMonths() {
    String flights = "read_parquet(" + TestDuckDb.path(TestData.flights()) + ")";
    january = dir.resolve("january.parquet");
    february = dir.resolve("february.parquet");
    shifted = dir.resolve("shifted.parquet");
    String feb = "date >= TIMESTAMP '2001-02-01' AND date < TIMESTAMP '2001-03-01'";
    TestDuckDb.execute(
        "COPY (SELECT * FROM "
            + flights
            + " WHERE date < TIMESTAMP '2001-02-01') TO "
            + TestDuckDb.path(january)
            + " (FORMAT parquet)",
        "COPY (SELECT * FROM "
            + flights
            + " WHERE "
            + feb
            + ") TO "
            + TestDuckDb.path(february)
            + " (FORMAT parquet)",
        "COPY (SELECT date + INTERVAL 3 HOUR AS date, delay,"
            + " CAST(round(distance * 1.25) AS BIGINT) AS distance,"
            + " CASE WHEN origin IN ('ATL', 'DFW') THEN 'ORD' ELSE origin END AS origin,"
            + " destination FROM "
            + flights
            + " WHERE "
            + feb
            + ") TO "
            + TestDuckDb.path(shifted)
            + " (FORMAT parquet)");
  }

  @Test
  void profileDriftMatchesRowsForStableMonth() throws SQLException {
    compare(february);
  }

  @Test
  void profileDriftMatchesRowsForShiftedMonth() throws SQLException {
    List<FeatureDrift[]> pairs = compare(shifted);
    assertThat(pairs)
        .extracting(pair -> pair[1].drifted())
        .containsExactly(true, true, false, true, false);
    DatasetDrift fromProfiles =
        PopulationStability.datasetDrift(SPEC, profile(january), profile(shifted));
    assertThat(fromProfiles.drifted()).containsExactly("distance", "origin", "hour");
    assertThat(fromProfiles.share()).isEqualTo(0.6);
    assertThat(fromProfiles.datasetDrifted()).isTrue();
  }

  /** Measures both ways, checks every metric and returns {row-based, profile-based} pairs. */
  private static List<FeatureDrift[]> compare(Path current) throws SQLException {
    List<FeatureDrift> exact = fromRows(january, current);
    List<FeatureDrift> sketched =
        PopulationStability.measure(SPEC, profile(january), profile(current));
    assertThat(sketched)
        .extracting(FeatureDrift::feature)
        .containsExactly("distance", "origin", "destination", "hour", "day_of_week");
    assertThat(exact)
        .extracting(FeatureDrift::feature)
        .containsExactlyElementsOf(sketched.stream().map(FeatureDrift::feature).toList());
    List<FeatureDrift[]> pairs = new ArrayList<>();
    for (int i = 0; i < exact.size(); i++) {
      FeatureDrift rows = exact.get(i);
      FeatureDrift profile = sketched.get(i);
      pairs.add(new FeatureDrift[] {rows, profile});
      System.out.println("rows:    " + rows);
      System.out.println("profile: " + profile);
      String name = rows.feature();
      assertThat(profile.kind()).as(name).isEqualTo(rows.kind());
      assertThat(profile.drifted()).as(name).isEqualTo(rows.drifted());
      if (rows.kind().equals(PopulationStability.NUMERIC)) {
        assertThat(profile.psi()).as(name).isCloseTo(rows.psi(), within(PSI_TOLERANCE));
        assertThat(profile.ks()).as(name).isCloseTo(rows.ks(), within(SKETCH_TOLERANCE));
        assertThat(profile.wasserstein())
            .as(name)
            .isCloseTo(rows.wasserstein(), within(SKETCH_TOLERANCE));
        assertThat(profile.jensenShannon())
            .as(name)
            .isCloseTo(rows.jensenShannon(), within(SKETCH_TOLERANCE));
      } else {
        assertThat(profile.psi()).as(name).isCloseTo(rows.psi(), within(SKETCH_TOLERANCE));
        assertThat(profile.lInfinity())
            .as(name)
            .isCloseTo(rows.lInfinity(), within(SKETCH_TOLERANCE));
        assertThat(profile.jensenShannon())
            .as(name)
            .isCloseTo(rows.jensenShannon(), within(SKETCH_TOLERANCE));
      }
      if (!name.equals("distance")) {
        // Exact counts per hour and day, and frequent-value counters that hold every one of the
        // 223 airports, give exactly the row-based values.
        assertThat(profile.psi()).as(name).isCloseTo(rows.psi(), within(1e-12));
        assertThat(profile.chiSquaredPValue())
            .as(name)
            .isCloseTo(rows.chiSquaredPValue(), within(1e-12));
        assertThat(profile.jensenShannon()).as(name).isCloseTo(rows.jensenShannon(), within(1e-12));
      }
    }
    return pairs;
  }

  private static DatasetProfile profile(Path parquet) throws SQLException {
    return ProfileBuilder.ofParquet(parquet, SCHEMA, 2);
  }

  private static List<FeatureDrift> fromRows(Path reference, Path current) throws SQLException {
    try (Connection connection = DuckDb.open(2);
        Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE reference_rows AS SELECT * FROM read_parquet("
              + TestDuckDb.path(reference)
              + ")");
      statement.execute(
          "CREATE TABLE current_rows AS SELECT * FROM read_parquet("
              + TestDuckDb.path(current)
              + ")");
      return new PopulationStability(connection, "reference_rows", "current_rows")
          .measure(SPEC, SCHEMA, SCHEMA);
    }
  }
}
