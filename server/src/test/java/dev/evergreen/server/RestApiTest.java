package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestApiTest {
  private Path dir;

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private JsonNode get(String path) throws Exception {
    HttpResponse<String> response = fixture.send("GET", path, fixture.viewerSecret, null);
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    return ServerFixture.json(response);
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return fixture.send("POST", path, fixture.operatorSecret, body);
  }

  private HttpResponse<String> infer(String model, int rows) throws Exception {
    return fixture.send(
        "POST",
        "/v2/models/" + model + "/infer",
        fixture.viewerSecret,
        ServerFixture.inferRequest(
                fixture.binaryCheck.inputs(),
                fixture
                    .evergreen
                    .deployments()
                    .serving(model)
                    .orElseThrow()
                    .active()
                    .signature()
                    .inputs(),
                rows)
            .toString());
  }

  @Test
  void modelsListShowsServingVersion() throws Exception {
    JsonNode models = get("/api/v1/models").get("models");

    List<String> names = new ArrayList<>();
    models.forEach(model -> names.add(model.get("name").asText()));
    assertThat(names).contains(MODEL, TWO_VERSIONS);
    JsonNode flights = models.get(names.indexOf(MODEL));
    assertThat(flights.get("aliases").get("champion").asInt()).isEqualTo(1);
    assertThat(flights.get("serving_version").asInt()).isEqualTo(1);
    assertThat(flights.get("standby_version").isNull()).isTrue();
  }

  @Test
  void modelShowsVersionsWithMetrics() throws Exception {
    JsonNode model = get("/api/v1/models/" + TWO_VERSIONS);

    assertThat(model.get("name").asText()).isEqualTo(TWO_VERSIONS);
    assertThat(model.get("versions")).hasSize(2);
    JsonNode first = model.get("versions").get(0);
    assertThat(first.get("version").asInt()).isEqualTo(1);
    assertThat(first.get("metrics").get("auc").asDouble()).isEqualTo(0.7);
    assertThat(first.get("artifact_sha256").asText()).hasSize(64);
    assertThat(first.get("created_at").asText()).endsWith("Z");
  }

  @Test
  void unknownModelIsNotFound() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/api/v1/models/no-such-model", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("model 'no-such-model' not found");
  }

  @Test
  void versionShowsSlotAndAliases() throws Exception {
    JsonNode version = get("/api/v1/models/" + MODEL + "/versions/1");

    assertThat(version.get("model").asText()).isEqualTo(MODEL);
    assertThat(version.get("version").asInt()).isEqualTo(1);
    assertThat(version.get("slot").asText()).isEqualTo("active");
    assertThat(version.get("aliases").get(0).asText()).isEqualTo("champion");
  }

  @Test
  void nonNumericVersionIsInvalid() throws Exception {
    HttpResponse<String> response =
        fixture.send(
            "GET", "/api/v1/models/" + MODEL + "/versions/one", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("version 'one' is not an integer");
  }

  @Test
  void deployAndRollbackSwitchServing() throws Exception {
    HttpResponse<String> deployed =
        post("/api/v1/models/" + TWO_VERSIONS + "/deploy", "{\"version\": 2}");

    assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(200);
    JsonNode result = ServerFixture.json(deployed);
    assertThat(result.get("switched").asBoolean()).isTrue();
    assertThat(result.get("version").asInt()).isEqualTo(2);
    assertThat(result.get("previous_version").asInt()).isEqualTo(1);
    assertThat(ServerFixture.json(infer(TWO_VERSIONS, 1)).get("model_version").asText())
        .isEqualTo("2");
    JsonNode model = get("/api/v1/models/" + TWO_VERSIONS);
    assertThat(model.get("serving_version").asInt()).isEqualTo(2);
    assertThat(model.get("standby_version").asInt()).isEqualTo(1);
    assertThat(model.get("aliases").get("champion").asInt()).isEqualTo(2);

    HttpResponse<String> rolledBack = post("/api/v1/models/" + TWO_VERSIONS + "/rollback", null);

    assertThat(rolledBack.statusCode()).as(rolledBack.body()).isEqualTo(200);
    assertThat(ServerFixture.json(rolledBack).get("version").asInt()).isEqualTo(1);
    assertThat(ServerFixture.json(infer(TWO_VERSIONS, 1)).get("model_version").asText())
        .isEqualTo("1");
    JsonNode history = get("/api/v1/models/" + TWO_VERSIONS + "/aliases/history").get("moves");
    JsonNode last = history.get(history.size() - 1);
    assertThat(last.get("from_version").asInt()).isEqualTo(2);
    assertThat(last.get("to_version").asInt()).isEqualTo(1);
    assertThat(last.get("actor").asText()).isEqualTo("test-operator");
    assertThat(last.get("reason").asText()).isEqualTo("rollback from version 2");
    JsonNode lineage = get("/api/v1/models/" + TWO_VERSIONS + "/versions/2/lineage");
    List<String> kinds = new ArrayList<>();
    lineage.get("nodes").forEach(node -> kinds.add(node.get("kind").asText()));
    assertThat(kinds).contains("model_version", "deployment");
    assertThat(lineage.get("edges").get(0).has("from_kind")).isTrue();
  }

  @Test
  void deployWithoutVersionIsInvalid() throws Exception {
    HttpResponse<String> response =
        post("/api/v1/models/" + MODEL + "/deploy", "{\"version\": \"latest\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("needs \"version\"")
        .contains("\"latest\"");
  }

  @Test
  void deployOfUnknownVersionIsNotFound() throws Exception {
    HttpResponse<String> response = post("/api/v1/models/" + MODEL + "/deploy", "{\"version\": 9}");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(ServerFixture.json(response).get("error").asText()).contains("has no version 9");
  }

  @Test
  void rollbackWithoutStandbyIsConflict() throws Exception {
    HttpResponse<String> response = post("/api/v1/models/" + MODEL + "/rollback", null);

    assertThat(response.statusCode()).isEqualTo(409);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("no previous version loaded for model 'flights'");
  }

  @Test
  void rollbackOfUnknownModelIsNotFound() throws Exception {
    HttpResponse<String> response = post("/api/v1/models/no-such-model/rollback", null);

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("model 'no-such-model' not found");
  }

  @Test
  void auditListsEntriesAndVerifies() throws Exception {
    JsonNode page = get("/api/v1/audit?limit=3");
    JsonNode next = get("/api/v1/audit?after=" + page.get("next_after").asLong() + "&limit=3");
    JsonNode verified = get("/api/v1/audit/verify");

    assertThat(page.get("entries")).hasSize(3);
    assertThat(page.get("entries").get(0).get("sequence").asLong()).isEqualTo(1);
    assertThat(page.get("entries").get(0).get("previous_hash").asText()).isEqualTo("0".repeat(64));
    assertThat(next.get("entries").get(0).get("sequence").asLong()).isEqualTo(4);
    assertThat(verified.get("intact").asBoolean()).isTrue();
    assertThat(verified.get("entries").asLong()).isGreaterThanOrEqualTo(6);
  }

  @Test
  void auditVerifyChecksExpectedHead() throws Exception {
    String head = get("/api/v1/audit/verify").get("head").asText();
    long sequence = Long.parseLong(head.substring(0, head.indexOf(':')));
    String beyond = (sequence + 1_000) + ":" + "a".repeat(64);
    String rewritten = sequence + ":" + "b".repeat(64);

    JsonNode same = get("/api/v1/audit/verify?expect_head=" + head);
    JsonNode truncated = get("/api/v1/audit/verify?expect_head=" + beyond);
    JsonNode altered = get("/api/v1/audit/verify?expect_head=" + rewritten);
    HttpResponse<String> invalid =
        fixture.send("GET", "/api/v1/audit/verify?expect_head=six", fixture.viewerSecret, null);

    assertThat(head).matches("\\d+:[0-9a-f]{64}");
    assertThat(same.get("intact").asBoolean()).isTrue();
    assertThat(truncated.get("intact").asBoolean()).isFalse();
    assertThat(truncated.get("first_bad_sequence").asLong()).isEqualTo(sequence + 1_000);
    assertThat(truncated.get("problem").asText())
        .isEqualTo(
            "the entry is missing: entries from "
                + (sequence + 1_000)
                + " on were removed from the end of the log");
    assertThat(altered.get("intact").asBoolean()).isFalse();
    assertThat(altered.get("problem").asText()).contains("differs from the expected");
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(invalid.body()).contains("expect_head 'six' is invalid; pass SEQUENCE:HASH");
  }

  @Test
  void invalidLimitIsRejected() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/api/v1/audit?limit=0", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("'limit' must be between 1 and 1000, got 0");
  }

  @Test
  void unknownRunIsNotFound() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/api/v1/runs/" + "f".repeat(32), fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(404);
  }

  @Test
  void unknownPipelineIsNotFound() throws Exception {
    HttpResponse<String> response =
        post("/api/v1/pipelines/no-such/runs", "{\"data\": \"/tmp/none.parquet\"}");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("pipeline 'no-such' is not registered");
  }

  @Test
  void pipelineRunIsQueuedAndFinishes() throws Exception {
    Path pipelineFile = dir.resolve("pipelines").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(pipelineFile, TestPipelines.flightsYaml(""));
    fixture.evergreen.pipelines().register(pipelineFile);
    Path data = TestDuckDb.flightsMonth(pipelineFile.resolveSibling("january.parquet"), 1, 3_000);

    HttpResponse<String> missing =
        post("/api/v1/pipelines/flights-delay/runs", "{\"data\": \"absent.parquet\"}");
    HttpResponse<String> queued =
        post("/api/v1/pipelines/flights-delay/runs", "{\"data\": \"" + data + "\"}");
    HttpResponse<String> waited =
        post("/api/v1/pipelines/flights-delay/runs?wait=true", "{\"data\": \"" + data + "\"}");

    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(missing).get("error").asText()).contains("absent.parquet");
    assertThat(queued.statusCode()).as(queued.body()).isEqualTo(202);
    String runId = ServerFixture.json(queued).get("run_id").asText();
    assertThat(runId).matches("[0-9a-f]{32}");
    assertThat(waited.statusCode()).as(waited.body()).isEqualTo(200);
    JsonNode finished = ServerFixture.json(waited);
    assertThat(finished.get("pipeline").asText()).isEqualTo("flights-delay");
    assertThat(finished.get("finished_at").isNull()).isFalse();
    // Runs of one pipeline execute one at a time, so the first has finished before the second.
    JsonNode first = get("/api/v1/runs/" + runId);
    assertThat(first.get("finished_at").isNull()).isFalse();
    assertThat(first.has("validation_report")).isTrue();
    JsonNode runs = get("/api/v1/runs?pipeline=flights-delay&limit=10").get("runs");
    assertThat(runs).hasSize(2);
    JsonNode pipelines = get("/api/v1/pipelines").get("pipelines");
    assertThat(pipelines.get(0).get("name").asText()).isEqualTo("flights-delay");
    assertThat(pipelines.get(0).get("model").asText()).isEqualTo("flights-delay");
  }

  @Test
  void runDataOutsideThePipelineFoldersIsRefused() throws Exception {
    Path pipelineFile = dir.resolve("guarded").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(
        pipelineFile, TestPipelines.flightsYaml("").replace("flights-delay", "guarded"));
    fixture.evergreen.pipelines().register(pipelineFile);
    Path secret = Files.writeString(dir.resolve("secret.csv"), "user,password\nroot,hunter2\n");
    Path link = Files.createSymbolicLink(pipelineFile.resolveSibling("link.csv"), secret);

    HttpResponse<String> absolute =
        post("/api/v1/pipelines/guarded/runs", "{\"data\": \"" + secret + "\"}");
    HttpResponse<String> climbing =
        post("/api/v1/pipelines/guarded/runs", "{\"data\": \"../secret.csv\"}");
    HttpResponse<String> missing =
        post("/api/v1/pipelines/guarded/runs", "{\"data\": \"/etc/no-such-file.csv\"}");
    HttpResponse<String> linked =
        post("/api/v1/pipelines/guarded/runs", "{\"data\": \"link.csv\"}");

    for (HttpResponse<String> response : List.of(absolute, climbing, missing, linked)) {
      assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
      assertThat(ServerFixture.json(response).get("error").asText())
          .contains("is outside the folders this server reads run data from")
          .contains(pipelineFile.getParent().toString())
          .contains("--data-dir")
          .doesNotContain("password");
    }
    assertThat(get("/api/v1/runs?pipeline=guarded&limit=10").get("runs")).isEmpty();
  }
}
