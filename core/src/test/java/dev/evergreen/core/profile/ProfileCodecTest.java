package dev.evergreen.core.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.data.ColumnType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Checks the binary profile: exact round trip, size limits and rejection of damaged input. */
class ProfileCodecTest {
  static final int NUMERIC_LIMIT = 10 * 1024;
  static final int PROFILE_LIMIT = 20 * 1024 * 1024;

  @Test
  void codecRoundTripIsExact() {
    Random random = new Random(1);
    ColumnSketch amount = new ColumnSketch("amount", ColumnType.DOUBLE);
    ColumnSketch city = new ColumnSketch("city", ColumnType.STRING);
    ColumnSketch at = new ColumnSketch("at", ColumnType.TIMESTAMP);
    ColumnSketch day = new ColumnSketch("day", ColumnType.DATE);
    ColumnSketch flag = new ColumnSketch("flag", ColumnType.BOOLEAN);
    ColumnSketch count = new ColumnSketch("count", ColumnType.INTEGER);
    for (int i = 0; i < 50_000; i++) {
      amount.addDouble(i % 100 == 0 ? Double.NaN : random.nextGaussian());
      city.addText("city-" + random.nextInt(300));
      at.addTimestamp(978_307_200_000_000L + random.nextInt(1_000_000) * 1_000_000L + i % 7);
      day.addDate(11_000 + random.nextInt(200));
      flag.addText(Boolean.toString(random.nextBoolean()));
      if (i % 10 == 0) {
        count.addNull();
      } else {
        count.addInteger(random.nextInt(50));
      }
    }
    DatasetProfile profile =
        new DatasetProfile(50_000, List.of(amount, city, at, day, flag, count));

    byte[] bytes = ProfileCodec.encode(profile);
    DatasetProfile read = ProfileCodec.decode(bytes);

    assertThat(ProfileCodec.encode(read)).isEqualTo(bytes);
    assertThat(read.rows()).isEqualTo(50_000);
    ColumnSketch readAmount = read.column("amount").orElseThrow();
    assertThat(readAmount.nans()).isEqualTo(500);
    assertThat(readAmount.moments().mean()).isEqualTo(amount.moments().mean());
    assertThat(readAmount.quantiles().cdf().values()).isEqualTo(amount.quantiles().cdf().values());
    assertThat(read.column("count").orElseThrow().nulls()).isEqualTo(5000);
    assertThat(read.column("city").orElseThrow().distinct()).isEqualTo(city.distinct());
    assertThat(read.column("at").orElseThrow().hours()).isEqualTo(at.hours());
    assertThat(read.column("day").orElseThrow().days()).isEqualTo(day.days());
    assertThat(read.column("flag").orElseThrow().frequent().count("true"))
        .isEqualTo(flag.frequent().count("true"));
  }

  @Test
  void numericColumnFitsTenKilobytes() {
    Random random = new Random(2);
    ColumnSketch worst = new ColumnSketch("x", ColumnType.DOUBLE);
    // Distinct values everywhere fill every sketch: all HyperLogLog registers, all KLL levels and
    // all frequent-value counters.
    for (int i = 0; i < 3_000_000; i++) {
      worst.addDouble(random.nextDouble() * 1e9);
    }
    int size = ProfileCodec.encodedSize(worst);
    System.out.println("worst-case numeric column: " + size + " bytes");
    assertThat(size).isLessThanOrEqualTo(NUMERIC_LIMIT);
  }

  @Test
  void thousandColumnProfileBelowTwentyMegabytes() {
    Random random = new Random(3);
    List<ColumnSketch> columns = new ArrayList<>();
    for (int c = 0; c < 1000; c++) {
      ColumnType type =
          switch (c % 4) {
            case 0 -> ColumnType.DOUBLE;
            case 1 -> ColumnType.INTEGER;
            case 2 -> ColumnType.TIMESTAMP;
            default -> ColumnType.STRING;
          };
      // Every fourth column is a string column with long, distinct, non-ASCII values: the largest
      // string profile.
      ColumnSketch sketch = new ColumnSketch("column_" + c, type);
      for (int i = 0; i < 20_000; i++) {
        switch (type) {
          case DOUBLE -> sketch.addDouble(random.nextGaussian());
          case INTEGER -> sketch.addInteger(random.nextLong());
          case TIMESTAMP -> sketch.addTimestamp(random.nextLong(4_000_000_000_000_000L));
          default -> sketch.addText(longText(random));
        }
      }
      columns.add(sketch);
    }
    byte[] bytes = ProfileCodec.encode(new DatasetProfile(20_000, columns));
    System.out.println("1000-column profile: " + bytes.length + " bytes");
    assertThat(bytes.length).isLessThan(PROFILE_LIMIT);
    assertThat(ProfileCodec.decode(bytes).columns()).hasSize(1000);
  }

  @Test
  void codecRejectsDamagedBytes() {
    ColumnSketch sketch = new ColumnSketch("x", ColumnType.INTEGER);
    for (int i = 0; i < 1000; i++) {
      sketch.addInteger(i);
    }
    byte[] bytes = ProfileCodec.encode(new DatasetProfile(1000, List.of(sketch)));

    assertThatThrownBy(() -> ProfileCodec.decode(Arrays.copyOf(bytes, bytes.length - 5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corrupt profile");
    byte[] wrongMagic = bytes.clone();
    wrongMagic[0] = 'X';
    assertThatThrownBy(() -> ProfileCodec.decode(wrongMagic))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("magic");
    byte[] newerVersion = bytes.clone();
    newerVersion[4] = 9;
    assertThatThrownBy(() -> ProfileCodec.decode(newerVersion))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("version 9");
  }

  /** Returns a distinct text longer than the kept prefix of frequent values. */
  private static String longText(Random random) {
    return Long.toHexString(random.nextLong()) + "\u00e9".repeat(ColumnSketch.MAX_TEXT_BYTES);
  }
}
