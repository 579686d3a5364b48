package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.CsvSpec;
import dev.evergreen.core.data.DuckDb;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reads the csv-spectrum files and other hard CSV cases through {@link BatchLoader#readCsvText},
 * the reader that snapshots use, and compares every value as text.
 */
class CsvSpectrumTest {
  private static final String TABLE = "text_rows";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  static Stream<String> spectrumFiles() throws IOException, URISyntaxException {
    Path csvs = spectrumDirectory().resolve("csvs");
    try (Stream<Path> files = Files.list(csvs)) {
      List<String> names =
          files
              .map(file -> file.getFileName().toString())
              .filter(name -> name.endsWith(".csv"))
              .sorted()
              .toList();
      assertThat(names).as("csv-spectrum files").hasSize(12);
      return names.stream();
    }
  }

  private static Path spectrumDirectory() throws URISyntaxException {
    URL readme = CsvSpectrumTest.class.getResource("/csv-spectrum/README.md");
    assertThat(readme).as("test resource csv-spectrum/README.md").isNotNull();
    return Path.of(readme.toURI()).getParent();
  }

  /** Returns the expected rows of a csv-spectrum file, column name to value, in file order. */
  private static List<Map<String, String>> expectedRows(String csvName)
      throws IOException, URISyntaxException {
    String jsonName = csvName.replaceFirst("\\.csv$", ".json");
    JsonNode tree;
    try (InputStream in = Files.newInputStream(spectrumDirectory().resolve("json/" + jsonName))) {
      tree = JSON.readTree(in);
    }
    List<JsonNode> nodes = new ArrayList<>();
    if (tree.isArray()) {
      tree.forEach(nodes::add);
    } else {
      // location_coordinates.json holds its single row as an object, not an array.
      nodes.add(tree);
    }
    List<Map<String, String>> rows = new ArrayList<>();
    for (JsonNode node : nodes) {
      Map<String, String> row = new LinkedHashMap<>();
      node.properties().forEach(field -> row.put(field.getKey(), field.getValue().asText()));
      rows.add(row);
    }
    if (csvName.equals("location_coordinates.csv")) {
      // The upstream JSON has a placeholder phone number that differs from its CSV file.
      rows.getFirst().put("Contact Phone Number", "2095257564");
    }
    return rows;
  }

  /** Reads a CSV file as text columns and returns its rows, column name to value. */
  private static List<Map<String, String>> readRows(Path file, CsvSpec options)
      throws SQLException, IOException {
    try (Connection connection = DuckDb.open(1)) {
      List<String> names = BatchLoader.readCsvText(connection, file, options, TABLE);
      List<Map<String, String>> rows = new ArrayList<>();
      try (Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery("SELECT * FROM " + TABLE + " ORDER BY rowid")) {
        assertThat(result.getMetaData().getColumnCount()).isEqualTo(names.size());
        while (result.next()) {
          Map<String, String> row = new LinkedHashMap<>();
          for (int i = 0; i < names.size(); i++) {
            assertThat(result.getMetaData().getColumnTypeName(i + 1)).isEqualTo("VARCHAR");
            row.put(names.get(i), result.getString(i + 1));
          }
          rows.add(row);
        }
      }
      return rows;
    }
  }

  @ParameterizedTest
  @MethodSource("spectrumFiles")
  void spectrumFileMatchesJsonRows(String csvName) throws Exception {
    Path file = spectrumDirectory().resolve("csvs/" + csvName);

    List<Map<String, String>> rows = readRows(file, CsvSpec.DEFAULT);

    List<Map<String, String>> expected = expectedRows(csvName);
    assertThat(rows).as(csvName).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(new ArrayList<>(rows.get(i).keySet()))
          .as("%s columns", csvName)
          .containsExactlyElementsOf(expected.get(i).keySet());
      assertThat(rows.get(i)).as("%s row %d", csvName, i + 1).isEqualTo(expected.get(i));
    }
  }

  @Test
  void quotedEmptyIsTextUnquotedEmptyIsNull() throws Exception {
    Path file = write("a,b,c\n1,\"\",\n");

    List<Map<String, String>> rows = readRows(file, CsvSpec.DEFAULT);

    assertThat(rows).hasSize(1);
    assertThat(rows.getFirst().get("b")).isEmpty();
    assertThat(rows.getFirst().get("c")).isNull();
  }

  @Test
  void zeroByteFileRejected() throws Exception {
    Path file = Files.write(dir.resolve("empty.csv"), new byte[0]);

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("the file is empty (0 bytes)")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void headerOnlyFileGivesNoRows() throws Exception {
    Path file = write("a,b\n");

    assertThat(readRows(file, CsvSpec.DEFAULT)).isEmpty();
  }

  @Test
  void byteOrderMarkRemovedFromHeader() throws Exception {
    Path file = write("\uFEFFid,name\n1,caf\u00e9\n2,tea\n");

    List<Map<String, String>> rows = readRows(file, CsvSpec.DEFAULT);

    assertThat(rows)
        .containsExactly(Map.of("id", "1", "name", "caf\u00e9"), Map.of("id", "2", "name", "tea"));
  }

  @Test
  void byteOrderMarkRemovedWithoutHeader() throws Exception {
    Path file = write("\uFEFF1,a\n2,b\n");

    List<Map<String, String>> rows = readRows(file, new CsvSpec(null, false, null));

    assertThat(rows)
        .containsExactly(
            Map.of("column0", "1", "column1", "a"), Map.of("column0", "2", "column1", "b"));
  }

  @Test
  void semicolonDelimiterKeepsCommas() throws Exception {
    Path file = write("city;amount\n\"Paris; FR\";1,5\nRome;2\n");

    List<Map<String, String>> rows = readRows(file, new CsvSpec(";", null, null));

    assertThat(rows)
        .containsExactly(
            Map.of("city", "Paris; FR", "amount", "1,5"), Map.of("city", "Rome", "amount", "2"));
  }

  @Test
  void latin1EncodingDecodesAccents() throws Exception {
    Path file =
        Files.write(
            dir.resolve("latin1.csv"),
            "city,note\nOrl\u00e9ans,\u00bd price\n".getBytes(StandardCharsets.ISO_8859_1));

    List<Map<String, String>> rows = readRows(file, new CsvSpec(null, null, "latin-1"));

    assertThat(rows).containsExactly(Map.of("city", "Orl\u00e9ans", "note", "\u00bd price"));
  }

  @Test
  void latin1BytesAsUtf8NameLine() throws Exception {
    Path file =
        Files.write(
            dir.resolve("latin1.csv"),
            "city,note\nRome,x\nOrl\u00e9ans,y\n".getBytes(StandardCharsets.ISO_8859_1));

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file + ":3:")
        .hasMessageContaining("byte 0xE9")
        .hasMessageContaining("encoding: latin-1");
  }

  @Test
  void extraFieldErrorNamesLineAndColumn() throws Exception {
    Path file = write("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n");

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file + ":3:7: the line has 4 fields, expected 3");
  }

  @Test
  void missingFieldErrorNamesLineAndColumn() throws Exception {
    Path file = write("a,b,c\n1,2,3\n\"x\ny\",5\n");

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file + ":4:5: the line has 2 fields, expected 3");
  }

  @Test
  void escapedQuotesBeforeExtraFieldCounted() throws Exception {
    String line = "\"say \"\"hi\"\", \u00e9\",2,3";
    Path file = write("a,b\n" + line + "\n");
    // Field 3 starts after the last comma; columns are 1-based characters.
    int column = line.lastIndexOf(',') + 2;

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file + ":2:" + column + ": the line has 3 fields, expected 2");
  }

  @Test
  void unclosedQuoteErrorNamesLineAndColumn() throws Exception {
    Path file = write("a,b\n1,2\n3,\"open\n5,6\n");

    assertThatThrownBy(() -> readRows(file, CsvSpec.DEFAULT))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file + ":3:3: a quoted field")
        .hasMessageContaining("never closed");
  }

  private Path write(String content) throws IOException {
    return Files.writeString(dir.resolve("input.csv"), content, StandardCharsets.UTF_8);
  }
}
