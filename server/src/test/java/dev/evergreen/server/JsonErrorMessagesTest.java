package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sends bodies that Jackson rejects to every JSON endpoint family and checks that the 400 names the
 * position and the problem in the server's words, without Jackson's advice about its own settings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsonErrorMessagesTest {
  /** Words of Jackson's messages that advise its configuration, which a client cannot change. */
  private static final List<String> JACKSON_ADVICE =
      List.of(
          "CoercionConfig",
          "ALLOW_",
          "JsonReadFeature",
          "StreamReadFeature",
          "StreamReadConstraints",
          "DeserializationFeature",
          "FAIL_ON_",
          "Feature",
          "`",
          "Source:",
          "REDACTED",
          "java.lang",
          "dev.evergreen");

  /** Method and path of one endpoint of each family that parses a JSON body. */
  private static final List<String[]> ENDPOINTS =
      List.of(
          new String[] {"POST", "/v2/models/" + MODEL + "/infer"},
          new String[] {"POST", "/v1/models/" + MODEL + ":predict"},
          new String[] {"POST", "/invocations?model=" + MODEL},
          new String[] {"POST", "/api/v1/tokens"},
          new String[] {"PUT", "/api/v1/models/" + MODEL + "/batching"},
          new String[] {"POST", "/api/2.0/mlflow/experiments/create"});

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  /** Returns the error message of a 400, from either error body format. */
  private static String message(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    JsonNode body = ServerFixture.json(response);
    return body.has("error") ? body.get("error").asText() : body.get("message").asText();
  }

  private static void assertNoJacksonAdvice(String message) {
    for (String word : JACKSON_ADVICE) {
      assertThat(message).as("message contains '%s'", word).doesNotContain(word);
    }
  }

  /** Bodies that fail in the JSON parser, with the message parts each must produce. */
  static Stream<Arguments> malformedBodies() {
    // The deep array sits in a field that every endpoint skips or reads as a tree.
    String deep = "{\"x\": " + "[".repeat(1001) + "]".repeat(1001) + "}";
    String longNumber = "{\"inputs\": [" + "1".repeat(1001) + "]}";
    String longName = "{\"" + "a".repeat(50_001) + "\": 1}";
    return Stream.of(
        Arguments.of("NaN", "{\"inputs\": [NaN]}", "line 1, column 16", "NaN is not a JSON number"),
        Arguments.of(
            "Infinity",
            "{\"inputs\": [Infinity]}",
            "line 1, column 21",
            "Infinity is not a JSON number"),
        Arguments.of(
            "minus Infinity",
            "{\"inputs\": [-Infinity]}",
            "line 1, column 22",
            "-Infinity is not a JSON number; send a finite number, or null for a missing value"),
        Arguments.of("nesting", deep, "line 1, column 1006", "nested more than 1000 levels deep"),
        Arguments.of(
            "long number",
            longNumber,
            "line 1, column 13",
            "a number is longer than 1000 characters"),
        Arguments.of(
            "long name", longName, "line 1, column 1", "a field name is longer than 50000"),
        Arguments.of("plus sign", "{\"inputs\": [+1]}", "line 1, column 14", "starts with '+'"),
        Arguments.of(
            "comment", "{\"inputs\": [] // all\n}", "line 1, column 15", "JSON does not allow"),
        Arguments.of(
            "unclosed array",
            "{\"inputs\": [",
            "line 1, column 13",
            "the value opened at line 1, column 12 is not closed"),
        Arguments.of(
            "duplicate field",
            "{\"inputs\": [], \"inputs\": []}",
            "line 1, column 24",
            "Duplicate field 'inputs'; send each field once per object"),
        Arguments.of(
            "trailing comma",
            "{\"inputs\": [], }",
            "line 1, column",
            "unexpected character '}' where a field name in double quotes is expected"),
        Arguments.of(
            "bad literal",
            "{\"x\": tru}",
            "line 1, column",
            "'tru' is not a JSON value; send a string in double quotes"),
        Arguments.of(
            "bad escape", "{\"x\": \"a\\qb\"}", "line 1, column", "'\\q' is not a JSON escape"));
  }

  static Stream<Arguments> malformedBodyPerEndpoint() {
    return malformedBodies()
        .flatMap(
            body ->
                ENDPOINTS.stream()
                    .map(
                        endpoint -> {
                          Object[] parts = body.get();
                          return Arguments.of(
                              endpoint[0], endpoint[1], parts[0], parts[1], parts[2], parts[3]);
                        }));
  }

  @ParameterizedTest(name = "{0} {1}: {2}")
  @MethodSource("malformedBodyPerEndpoint")
  void malformedBodyNamesPositionWithoutJacksonAdvice(
      String method, String path, String name, String body, String position, String reason)
      throws Exception {
    HttpResponse<String> response = fixture.send(method, path, fixture.adminSecret, body);

    String message = message(response);
    assertThat(message).contains("request body is not valid JSON at " + position);
    assertThat(message).contains(reason);
    assertNoJacksonAdvice(message);
  }

  static Stream<Arguments> trailingContentPerEndpoint() {
    return ENDPOINTS.stream()
        .flatMap(
            endpoint ->
                Stream.of(
                    Arguments.of(endpoint[0], endpoint[1], "{} {}", "column 4: found an object"),
                    Arguments.of(endpoint[0], endpoint[1], "{} 5", "column 4: found the number 5"),
                    Arguments.of(endpoint[0], endpoint[1], "{}\n garbage", "line 2, column 2"),
                    Arguments.of(endpoint[0], endpoint[1], "{} ]", "column 4")));
  }

  @ParameterizedTest(name = "{0} {1}: {2}")
  @MethodSource("trailingContentPerEndpoint")
  void trailingContentIsNamed(String method, String path, String body, String found)
      throws Exception {
    HttpResponse<String> response = fixture.send(method, path, fixture.adminSecret, body);

    String message = message(response);
    assertThat(message).contains("request body has content after its JSON");
    assertThat(message).contains(found);
    assertThat(message).contains("send exactly one JSON");
    assertNoJacksonAdvice(message);
  }

  @Test
  void whiteSpaceBodyIsEmpty() throws Exception {
    HttpResponse<String> response =
        fixture.send("POST", "/api/v1/tokens", fixture.adminSecret, "  \n ");

    String message = message(response);
    assertThat(message).contains("request body contains only white space; send a JSON object");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("endpoints")
  void invalidUtf32BodyIsRejected(String method, String path) throws Exception {
    // Three zero bytes and a brace make Jackson read UTF-32, and 0xFFFFFFFF is no character.
    byte[] body = {0, 0, 0, '{', (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    HttpRequest request =
        HttpRequest.newBuilder(fixture.uri(path))
            .timeout(Duration.ofSeconds(60))
            .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
            .header("Authorization", "Bearer " + fixture.adminSecret)
            .header("Content-Type", "application/json")
            .build();

    HttpResponse<String> response =
        fixture.http.send(request, HttpResponse.BodyHandlers.ofString());

    String message = message(response);
    assertThat(message).contains("request body cannot be decoded as JSON text");
    assertThat(message).contains("send JSON encoded as UTF-8");
    assertNoJacksonAdvice(message);
  }

  static Stream<Arguments> endpoints() {
    return ENDPOINTS.stream().map(endpoint -> Arguments.of(endpoint[0], endpoint[1]));
  }

  @Test
  void v2ShapeBeyondLongRangeIsNamed() throws Exception {
    String body =
        "{\"inputs\": [{\"name\": \"distance\", \"datatype\": \"FP64\","
            + " \"shape\": [99999999999999999999], \"data\": [1]}]}";

    HttpResponse<String> response =
        fixture.send("POST", "/v2/models/" + MODEL + "/infer", fixture.viewerSecret, body);

    String message = message(response);
    assertThat(message)
        .contains("input 'distance' has a shape with the number 99999999999999999999");
    assertThat(message).contains("each dimension must be an integer of at least 0");
    assertNoJacksonAdvice(message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"max_batch_size\": \"64\"}|field 'max_batch_size' of the batching request is the"
            + " string \"64\"; send an integer from 1 to 100000",
        "{\"max_batch_size\": \"\"}|field 'max_batch_size' of the batching request is the string"
            + " \"\"; send an integer",
        "{\"max_batch_size\": 1.5}|field 'max_batch_size' of the batching request is the number"
            + " 1.5; send an integer",
        "{\"max_batch_size\": 99999999999}|field 'max_batch_size' of the batching request is the"
            + " number 99999999999; send an integer from 1 to 100000",
        "{\"max_batch_size\": [64]}|field 'max_batch_size' of the batching request is an array"
            + " of 1; send an integer",
        "{\"max_delay_millis\": {}}|field 'max_delay_millis' of the batching request is an"
            + " object; send a number",
        "{\"max_delay_millis\": true}|field 'max_delay_millis' of the batching request is the"
            + " boolean true; send a number"
      })
  void batchingFieldOfWrongTypeIsNamed(String body, String expected) throws Exception {
    HttpResponse<String> response =
        fixture.send("PUT", "/api/v1/models/" + MODEL + "/batching", fixture.operatorSecret, body);

    String message = message(response);
    assertThat(message).contains(expected);
    assertNoJacksonAdvice(message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"version\": 1, \"rollback\": [1]}|field 'rollback' of the canary request is an array"
            + " of 1; send an object",
        "{\"version\": 1, \"rollback\": {\"min_requests\": \"50\"}}|field 'rollback.min_requests'"
            + " of the canary request is the string \"50\"; send an integer",
        "{\"version\": 1, \"percent\": \"ten\"}|field 'percent' of the canary request is the"
            + " string \"ten\"; send a number",
        "{\"version\": 1, \"key_header\": {}}|field 'key_header' of the canary request is an"
            + " object; send a string"
      })
  void canaryFieldOfWrongTypeIsNamed(String body, String expected) throws Exception {
    HttpResponse<String> response =
        fixture.send("POST", "/api/v1/models/" + MODEL + "/canary", fixture.operatorSecret, body);

    String message = message(response);
    assertThat(message).contains(expected);
    assertNoJacksonAdvice(message);
  }
}
