package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PredictionSamplerTest {
  /** A model with the flight inputs that scores every row 0.5. */
  private static final class FlightInputs implements ServableModel {
    @Override
    public String model() {
      return "flights";
    }

    @Override
    public int version() {
      return 3;
    }

    @Override
    public Signature signature() {
      return new Signature(
          List.of(
              new TensorSpec("distance", "FP64", List.of(-1L)),
              new TensorSpec("origin", "BYTES", List.of(-1L)),
              new TensorSpec("date", "BYTES", List.of(-1L))),
          List.of(new TensorSpec("score", "FP64", List.of(-1L))));
    }

    @Override
    public int outputWidth() {
      return 1;
    }

    @Override
    public double[] predict(InputBatch batch) {
      double[] scores = new double[batch.rows()];
      Arrays.fill(scores, 0.5);
      return scores;
    }

    @Override
    public CheckSet checkSet() {
      throw new UnsupportedOperationException("no check set");
    }
  }

  private static final Map<String, ColumnType> SNAPSHOT_TYPES =
      Map.of("distance", ColumnType.INTEGER, "date", ColumnType.TIMESTAMP);

  private static InputBatch batch(int rows) {
    double[] distance = new double[rows];
    String[] origin = new String[rows];
    String[] date = new String[rows];
    for (int i = 0; i < rows; i++) {
      distance[i] = i % 2 == 0 ? Double.NaN : 100 + i;
      origin[i] = i % 3 == 0 ? "ATL" : "ORD";
      date[i] = "2001-01-0" + (1 + i % 7) + "T0" + (i % 10) + ":30:00";
    }
    return new InputBatch(
        rows, Map.of("distance", distance), Map.of("origin", origin, "date", date));
  }

  private static PredictionSampler sampler(double fraction) {
    return new PredictionSampler(
        fraction, new SimpleMeterRegistry(), Runnable::run, model -> SNAPSHOT_TYPES);
  }

  @Test
  void samplerUsesSnapshotTypes() {
    PredictionSampler sampler = sampler(1.0);
    ServableModel model = new FlightInputs();
    // The first batch starts the schema lookup and is not sampled.
    sampler.sample(model, batch(4));
    sampler.sample(model, batch(10));

    DatasetProfile profile = sampler.profile("flights", 3).orElseThrow();
    assertThat(profile.rows()).isEqualTo(10);
    ColumnSketch distance = profile.column("distance").orElseThrow();
    assertThat(distance.type()).isEqualTo(ColumnType.INTEGER);
    assertThat(distance.nulls()).isEqualTo(5);
    assertThat(distance.moments().max()).isEqualTo(109.0);
    assertThat(profile.column("origin").orElseThrow().type()).isEqualTo(ColumnType.STRING);
    ColumnSketch date = profile.column("date").orElseThrow();
    assertThat(date.type()).isEqualTo(ColumnType.TIMESTAMP);
    assertThat(date.nulls()).isZero();
    assertThat(date.hours()[9]).isEqualTo(1);
    assertThat(sampler.profile("flights", 4)).isEmpty();
  }

  @Test
  void samplerKeepsAboutFractionOfRows() {
    PredictionSampler sampler = sampler(0.1);
    ServableModel model = new FlightInputs();
    sampler.sample(model, batch(1));
    InputBatch batch = batch(100);
    for (int i = 0; i < 1_000; i++) {
      sampler.sample(model, batch);
    }
    // 100,000 rows at 0.1: the standard deviation of the count is about 95 rows.
    long rows = sampler.profile("flights", 3).orElseThrow().rows();
    assertThat(rows).isBetween(9_500L, 10_500L);
  }

  @Test
  void samplerRejectsFractionAboveOne() {
    assertThatThrownBy(() -> sampler(1.5))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("between 0 and 1, got 1.5");
  }

  @Test
  void parseMicrosReadsIsoForms() {
    assertThat(PredictionSampler.parseMicros("1970-01-02")).isEqualTo(86_400_000_000L);
    assertThat(PredictionSampler.parseMicros("1970-01-01T01:00:00")).isEqualTo(3_600_000_000L);
    assertThat(PredictionSampler.parseMicros("1970-01-01 01:00")).isEqualTo(3_600_000_000L);
    assertThat(PredictionSampler.parseMicros("1970-01-01T02:00:00+01:00"))
        .isEqualTo(3_600_000_000L);
    assertThat(PredictionSampler.parseMicros("1970-01-01T01:00:00Z")).isEqualTo(3_600_000_000L);
    assertThat(PredictionSampler.parseMicros("yesterday")).isNull();
  }
}
