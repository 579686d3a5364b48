package dev.evergreen.core.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FeatureEncodingTest {
  private static final FeatureEncoding ENCODING =
      FeatureEncoding.of(
          FlightSamples.features(),
          Map.of("origin", List.of("ATL", "ORD", "DFW"), "destination", List.of("LAX", "SFO")));

  private static InputBatch batch(
      double[] distance, String[] origin, String[] dest, String[] date) {
    return new InputBatch(
        distance.length,
        Map.of("distance", distance),
        Map.of("origin", origin, "destination", dest, "date", date));
  }

  @Test
  void encodeOrdersFeaturesAndMarksMissing() {
    InputBatch batch =
        batch(
            new double[] {1000, Double.NaN},
            new String[] {"DFW", "XYZ"},
            new String[] {null, "LAX"},
            new String[] {"2001-01-03T07:15:00", null});

    float nan = Float.NaN;
    // Row 0: distance 1000, DFW is code 2, destination null, 07:15 on Wednesday (ISO day 3).
    // Row 1: distance missing, XYZ was not seen in training, LAX is code 0, date missing.
    assertThat(ENCODING.encode(batch)).containsExactly(1000, 2, nan, 7, 3, nan, nan, 0, nan, nan);
  }

  @Test
  void derivedFeaturesMatchJavaTime() {
    Random random = new Random(3);
    DateTimeFormatter space = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss");
    int rows = 2_000;
    String[] text = new String[rows];
    float[] expected = new float[rows * 2];
    for (int i = 0; i < rows; i++) {
      long second = 946_684_800L + (long) (random.nextDouble() * 1_000_000_000L);
      ZoneOffset offset = ZoneOffset.ofTotalSeconds((random.nextInt(57) - 28) * 1_800);
      OffsetDateTime local =
          Instant.ofEpochSecond(second, random.nextInt(1_000_000_000)).atOffset(offset);
      text[i] =
          switch (i % 4) {
            case 0 -> local.toString();
            case 1 -> local.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime().toString();
            case 2 -> space.format(local.withOffsetSameInstant(ZoneOffset.UTC));
            default -> local.withOffsetSameInstant(ZoneOffset.UTC).toString();
          };
      OffsetDateTime utc = local.withOffsetSameInstant(ZoneOffset.UTC);
      expected[i * 2] = utc.getHour();
      expected[i * 2 + 1] = utc.getDayOfWeek().getValue();
    }
    FeatureEncoding encoding =
        new FeatureEncoding(
            List.of(
                new FeatureEncoding.Feature(
                    "hour", FeatureEncoding.Kind.DERIVED, "at", "hour_of_day", null),
                new FeatureEncoding.Feature(
                    "day", FeatureEncoding.Kind.DERIVED, "at", "day_of_week", null)));

    float[] encoded = encoding.encode(new InputBatch(rows, Map.of(), Map.of("at", text)));

    for (int i = 0; i < rows; i++) {
      assertThat(encoded[i * 2]).as("hour of %s", text[i]).isEqualTo(expected[i * 2]);
      assertThat(encoded[i * 2 + 1]).as("day of %s", text[i]).isEqualTo(expected[i * 2 + 1]);
    }
  }

  @Test
  void timestampFormsAreAccepted() {
    String[] forms = {
      "2001-01-03T07:15:00",
      "2001-01-03 07:15:00",
      "2001-01-03T07:15",
      "2001-01-03T07:15:00.5",
      "2001-01-03T07:15:00.123456789",
      "2001-01-03T07:15:00Z",
      "2001-01-03T09:15:00+02:00",
      "2001-01-03T09:15:00+0200",
      "2001-01-03T02:15:00-05",
      "2001-01-02T23:15:00.000001-08:00",
    };
    for (String form : forms) {
      assertThat(FeatureEncoding.parseEpochSecond(form))
          .as(form)
          .isEqualTo(Instant.parse("2001-01-03T07:15:00Z").getEpochSecond());
    }
    assertThat(FeatureEncoding.parseEpochSecond("2001-01-03"))
        .isEqualTo(Instant.parse("2001-01-03T00:00:00Z").getEpochSecond());
    assertThat(FeatureEncoding.parseEpochSecond("1969-12-31T23:59:59")).isEqualTo(-1);
    assertThat(FeatureEncoding.parseEpochSecond("2000-02-29T00:00:00"))
        .isEqualTo(Instant.parse("2000-02-29T00:00:00Z").getEpochSecond());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "soon",
        "2001-1-03T07:15:00",
        "2001-02-29T00:00:00",
        "2001-04-31",
        "2001-13-01",
        "2001-01-03T24:00:00",
        "2001-01-03T07:60:00",
        "2001-01-03T07:15:60",
        "2001-01-03T07",
        "2001-01-03T07:15:00.",
        "2001-01-03T07:15:00.1234567890",
        "2001-01-03T07:15:00+2",
        "2001-01-03T07:15:00+19:00",
        "2001-01-03T07:15:00 UTC",
        "2001-01-03X07:15:00",
        "2001-01-03T07:15:00Zx",
      })
  void invalidTimestampNamesInputRowValue(String value) {
    InputBatch batch =
        batch(
            new double[] {1, 2},
            new String[] {"ATL", "ATL"},
            new String[] {"LAX", "LAX"},
            new String[] {"2001-01-03T07:15:00", value});

    assertThatThrownBy(() -> ENCODING.encode(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'date' row 1: '" + value + "'")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void missingInputIsNamed() {
    InputBatch batch =
        new InputBatch(
            1,
            Map.of("distance", new double[] {1}),
            Map.of("origin", new String[] {"ATL"}, "date", new String[] {"2001-01-01"}));

    assertThatThrownBy(() -> ENCODING.encode(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'destination' is missing")
        .hasMessageContaining("distance (FP64), origin (BYTES), destination (BYTES), date (BYTES)");
  }

  @Test
  void wrongInputTypeIsNamed() {
    InputBatch batch =
        new InputBatch(
            1,
            Map.of(),
            Map.of(
                "distance", new String[] {"1"},
                "origin", new String[] {"ATL"},
                "destination", new String[] {"LAX"},
                "date", new String[] {"2001-01-01"}));

    assertThatThrownBy(() -> ENCODING.encode(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'distance' must be numbers (FP64)");
  }

  @Test
  void shortInputColumnIsRejected() {
    InputBatch batch =
        new InputBatch(
            2,
            Map.of("distance", new double[] {1, 2}),
            Map.of(
                "origin", new String[] {"ATL"},
                "destination", new String[] {"LAX", "LAX"},
                "date", new String[] {"2001-01-01", "2001-01-01"}));

    assertThatThrownBy(() -> ENCODING.encode(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'origin' has 1 values but the batch has 2 rows");
  }

  @Test
  void signatureListsSourceColumns() {
    List<TensorSpec> inputs =
        List.of(
            new TensorSpec("distance", "FP64", List.of(-1L)),
            new TensorSpec("origin", "BYTES", List.of(-1L)),
            new TensorSpec("destination", "BYTES", List.of(-1L)),
            new TensorSpec("date", "BYTES", List.of(-1L)));

    assertThat(ENCODING.signature("binary:logistic", 2))
        .isEqualTo(
            new Signature(inputs, List.of(new TensorSpec("probability", "FP64", List.of(-1L)))));
    assertThat(ENCODING.signature("multi:softprob", 3))
        .isEqualTo(
            new Signature(
                inputs, List.of(new TensorSpec("probabilities", "FP64", List.of(-1L, 3L)))));
    assertThat(ENCODING.signature("reg:squarederror", 0))
        .isEqualTo(
            new Signature(inputs, List.of(new TensorSpec("prediction", "FP64", List.of(-1L)))));
  }

  @Test
  void jsonRoundTripKeepsEncoding() throws Exception {
    ObjectMapper json = new ObjectMapper();
    byte[] bytes = json.writeValueAsBytes(ENCODING);

    FeatureEncoding read = json.readValue(bytes, FeatureEncoding.class);

    assertThat(read).isEqualTo(ENCODING);
    assertThat(new String(bytes, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"kind\":\"categorical\"")
        .contains("\"categories\":[\"ATL\",\"ORD\",\"DFW\"]")
        .doesNotContain("\"function\":null");
    InputBatch batch =
        batch(
            new double[] {5},
            new String[] {"ORD"},
            new String[] {"SFO"},
            new String[] {"2001-01-07T23:00:00"});
    assertThat(read.encode(batch)).containsExactly(5, 1, 1, 23, 7);
  }

  @Test
  void duplicateCategoryIsRejected() {
    assertThatThrownBy(
            () ->
                new FeatureEncoding.Feature(
                    "origin",
                    FeatureEncoding.Kind.CATEGORICAL,
                    "origin",
                    null,
                    List.of("ATL", "ATL")))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("lists category 'ATL' twice");
  }

  @Test
  void columnUsedAsNumberAndTextIsRejected() {
    assertThatThrownBy(
            () ->
                new FeatureEncoding(
                    List.of(
                        new FeatureEncoding.Feature(
                            "at", FeatureEncoding.Kind.NUMERIC, "at", null, null),
                        new FeatureEncoding.Feature(
                            "hour", FeatureEncoding.Kind.DERIVED, "at", "hour_of_day", null))))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("column 'at' is used both as a number and as text");
  }
}
