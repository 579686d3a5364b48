package dev.evergreen.core.snapshot;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.PipelineColumns;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

/**
 * Replaces the values of columns tagged {@code direct_identifier} by their keyed pseudonym: the
 * lowercase hex HMAC-SHA-256 of the value's UTF-8 text under the pseudonym key. Nulls stay null,
 * and a column of another type becomes a string column, its values taken as text first (ISO 8601
 * for timestamps). The HMAC is computed once per distinct value in Java and joined back in DuckDB.
 */
final class Pseudonymizer {
  /** Environment variable that contains the pseudonym key. */
  static final String KEY_VARIABLE = "EVERGREEN_PSEUDONYM_KEY";

  private static final String MAPPING = "pseudonyms";

  private Pseudonymizer() {}

  /** Returns the tagged columns of the schema, rejecting them when no key is configured. */
  static List<String> taggedColumns(Schema schema, PipelineSpec spec, byte[] key, Path file) {
    List<String> tagged =
        schema.names().stream().filter(n -> PipelineColumns.isDirectIdentifier(spec, n)).toList();
    if (!tagged.isEmpty() && (key == null || key.length == 0)) {
      // A missing key is a fault of the deployment, not of the batch, so the run fails instead of
      // rejecting the data.
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          file
              + ": column"
              + (tagged.size() == 1 ? " '" : "s '")
              + String.join("', '", tagged)
              + "' "
              + (tagged.size() == 1 ? "is" : "are")
              + " tagged direct_identifier and must be pseudonymised, but no pseudonym key is"
              + " configured. Set the environment variable "
              + KEY_VARIABLE
              + " to a secret of at least 32 random bytes and ingest the file again.");
    }
    return tagged;
  }

  /** Pseudonymises the tagged columns of {@code table} in place and returns the new schema. */
  static Schema apply(
      Connection connection, String table, Schema schema, List<String> tagged, byte[] key)
      throws SQLException {
    if (tagged.isEmpty()) {
      return schema;
    }
    Mac mac = mac(key);
    List<Column> columns = new ArrayList<>();
    for (Column column : schema.columns()) {
      if (!tagged.contains(column.name())) {
        columns.add(column);
        continue;
      }
      replace(connection, table, column, mac);
      columns.add(new Column(column.name(), ColumnType.STRING));
    }
    return new Schema(columns);
  }

  private static void replace(Connection connection, String table, Column column, Mac mac)
      throws SQLException {
    String name = identifier(column.name());
    try (Statement statement = connection.createStatement()) {
      if (column.type() != ColumnType.STRING) {
        statement.execute(
            "ALTER TABLE "
                + table
                + " ALTER COLUMN "
                + name
                + " SET DATA TYPE VARCHAR USING "
                + ColumnTypes.text(name, column.type()));
      }
      statement.execute("CREATE TABLE " + MAPPING + " (value VARCHAR, pseudonym VARCHAR)");
    }
    HexFormat hex = HexFormat.of();
    DuckDBConnection duck = connection.unwrap(DuckDBConnection.class);
    try (Statement statement = connection.createStatement();
        ResultSet values =
            statement.executeQuery(
                "SELECT DISTINCT " + name + " FROM " + table + " WHERE " + name + " IS NOT NULL");
        DuckDBAppender appender = duck.createAppender(DuckDBConnection.DEFAULT_SCHEMA, MAPPING)) {
      while (values.next()) {
        String value = values.getString(1);
        String pseudonym = hex.formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
        appender.beginRow().append(value).append(pseudonym).endRow();
      }
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "UPDATE "
              + table
              + " SET "
              + name
              + " = m.pseudonym FROM "
              + MAPPING
              + " m WHERE "
              + table
              + "."
              + name
              + " = m.value");
      statement.execute("DROP TABLE " + MAPPING);
    }
  }

  private static Mac mac(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
    }
  }
}
