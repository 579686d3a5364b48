package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.server.grpc.ModelMetadataRequest;
import dev.evergreen.server.grpc.ModelMetadataResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code versions} of model metadata list every version a request can name. */
class ModelMetadataVersionsTest {
  @TempDir Path dir;

  @Test
  void versionsListEverySlotInOrder() throws Exception {
    try (ServerFixture fixture = new ServerFixture(dir)) {
      DeploymentManager deployments = fixture.evergreen.deployments();
      int third = registerCopy(fixture, 1);
      int fourth = registerCopy(fixture, 2);
      // Active 2, standby 1, canary 3 and shadow 4.
      deployments.deploy(TWO_VERSIONS, 2, "test");
      deployments.startCanary(TWO_VERSIONS, third, CanarySpec.DEFAULT, "test");
      deployments.startShadow(TWO_VERSIONS, fourth, ShadowSpec.DEFAULT, "test");

      List<String> expected = List.of("1", "2", Integer.toString(third), "4");
      assertThat(fourth).isEqualTo(4);
      assertThat(restVersions(fixture, "/v2/models/" + TWO_VERSIONS)).isEqualTo(expected);
      assertThat(restVersions(fixture, "/v2/models/" + TWO_VERSIONS + "/versions/" + third))
          .isEqualTo(expected);
      ModelMetadataResponse grpc =
          fixture
              .grpcStub(fixture.viewerSecret)
              .modelMetadata(ModelMetadataRequest.newBuilder().setName(TWO_VERSIONS).build());
      assertThat(grpc.getVersionsList()).isEqualTo(expected);
      for (String version : expected) {
        String ready = "/v2/models/" + TWO_VERSIONS + "/versions/" + version + "/ready";
        assertThat(fixture.send("GET", ready, fixture.viewerSecret, null).statusCode())
            .as("readiness of listed version " + version)
            .isEqualTo(200);
      }

      deployments.abortCanary(TWO_VERSIONS, "test", "test over");
      deployments.stopShadow(TWO_VERSIONS, "test");

      assertThat(restVersions(fixture, "/v2/models/" + TWO_VERSIONS)).containsExactly("1", "2");
      ModelMetadataResponse after =
          fixture
              .grpcStub(fixture.viewerSecret)
              .modelMetadata(ModelMetadataRequest.newBuilder().setName(TWO_VERSIONS).build());
      assertThat(after.getVersionsList()).containsExactly("1", "2");
    }
  }

  private static List<String> restVersions(ServerFixture fixture, String path) throws Exception {
    var response = fixture.send("GET", path, fixture.viewerSecret, null);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    List<String> versions = new ArrayList<>();
    for (JsonNode version : ServerFixture.json(response).get("versions")) {
      versions.add(version.asText());
    }
    return versions;
  }

  /** Registers a new version of {@link ServerFixture#TWO_VERSIONS} with an existing model file. */
  private static int registerCopy(ServerFixture fixture, int version) {
    ModelVersion source = fixture.evergreen.registry().require(TWO_VERSIONS, version);
    return fixture
        .evergreen
        .registry()
        .register(
            new ModelVersion(
                TWO_VERSIONS,
                0,
                source.artifactKey(),
                source.artifactSha256(),
                null,
                null,
                source.metrics(),
                null,
                Instant.now()),
            "test")
        .version();
  }
}
