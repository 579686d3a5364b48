package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.tracking.TrackingService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mlflow.api.proto.Service;
import org.mlflow.tracking.ExperimentsPage;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.RunsPage;

/** Drives the MLflow tracking API with the official MLflow Java client 2.17.2. */
class MlflowClientTest {
  @TempDir static Path dir;

  private static MlflowServer server;
  private static MlflowClient client;

  @BeforeAll
  static void start() {
    server = new MlflowServer(dir);
    client = server.client();
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  @Test
  void createAndGetExperimentRoundTrips() {
    long before = System.currentTimeMillis();
    String id = client.createExperiment("exp-roundtrip");

    Service.Experiment experiment = client.getExperiment(id);

    assertThat(experiment.getExperimentId()).isEqualTo(id);
    assertThat(experiment.getName()).isEqualTo("exp-roundtrip");
    assertThat(experiment.getLifecycleStage()).isEqualTo("active");
    assertThat(experiment.getCreationTime()).isBetween(before, System.currentTimeMillis());
    assertThat(experiment.getLastUpdateTime()).isEqualTo(experiment.getCreationTime());
    assertThat(experiment.getTagsList()).isEmpty();
    Optional<Service.Experiment> byName = client.getExperimentByName("exp-roundtrip");
    assertThat(byName).isPresent();
    assertThat(byName.get().getExperimentId()).isEqualTo(id);
    assertThat(client.getExperimentByName("no-such-experiment")).isEmpty();
  }

  @Test
  void createExperimentTwiceIsRejected() {
    client.createExperiment("exp-duplicate");

    assertThatThrownBy(() -> client.createExperiment("exp-duplicate"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("RESOURCE_ALREADY_EXISTS");
            });
  }

  @Test
  void experimentTagRenameDeleteRestore() {
    String id = client.createExperiment("exp-lifecycle");
    client.setExperimentTag(id, "team", "fraud");
    client.setExperimentTag(id, "team", "risk");
    client.renameExperiment(id, "exp-lifecycle-renamed");

    Service.Experiment experiment = client.getExperiment(id);
    assertThat(experiment.getName()).isEqualTo("exp-lifecycle-renamed");
    assertThat(tags(experiment.getTagsList())).containsExactly(Map.entry("team", "risk"));

    client.deleteExperiment(id);
    assertThat(client.getExperiment(id).getLifecycleStage()).isEqualTo("deleted");
    assertThat(
            client
                .searchExperiments(
                    "name = 'exp-lifecycle-renamed'", Service.ViewType.ACTIVE_ONLY, 10, List.of())
                .getItems())
        .isEmpty();
    assertThat(
            client
                .searchExperiments(
                    "name = 'exp-lifecycle-renamed'", Service.ViewType.DELETED_ONLY, 10, List.of())
                .getItems())
        .extracting(Service.Experiment::getExperimentId)
        .containsExactly(id);

    client.restoreExperiment(id);
    assertThat(client.getExperiment(id).getLifecycleStage()).isEqualTo("active");
  }

  @Test
  void searchExperimentsFiltersOrdersAndPages() {
    List<String> ids = new ArrayList<>();
    for (String name : List.of("search-b", "search-c", "search-a")) {
      ids.add(client.createExperiment(name));
    }
    client.setExperimentTag(ids.get(1), "kind", "nightly");

    ExperimentsPage first =
        client.searchExperiments(
            "name LIKE 'search-%'", Service.ViewType.ACTIVE_ONLY, 2, List.of("name ASC"));
    assertThat(first.getItems())
        .extracting(Service.Experiment::getName)
        .containsExactly("search-a", "search-b");
    assertThat(first.hasNextPage()).isTrue();
    ExperimentsPage second = (ExperimentsPage) first.getNextPage();
    assertThat(second.getItems())
        .extracting(Service.Experiment::getName)
        .containsExactly("search-c");
    assertThat(second.hasNextPage()).isFalse();

    ExperimentsPage newestFirst =
        client.searchExperiments(
            "name LIKE 'search-%'",
            Service.ViewType.ACTIVE_ONLY, 10, List.of("creation_time DESC", "experiment_id DESC"));
    assertThat(newestFirst.getItems())
        .extracting(Service.Experiment::getExperimentId)
        .containsExactly(ids.get(2), ids.get(1), ids.get(0));

    ExperimentsPage tagged = client.searchExperiments("tags.kind = 'nightly'");
    assertThat(tagged.getItems())
        .extracting(Service.Experiment::getName)
        .containsExactly("search-c");
  }

  @Test
  void runLoggingIsReadBackFieldByField() {
    String experimentId = client.createExperiment("exp-logging");
    long start = System.currentTimeMillis();
    Service.RunInfo created = client.createRun(experimentId);

    assertThat(created.getRunId()).matches("[0-9a-f]{32}");
    assertThat(created.getRunUuid()).isEqualTo(created.getRunId());
    assertThat(created.getExperimentId()).isEqualTo(experimentId);
    assertThat(created.getStatus()).isEqualTo(Service.RunStatus.RUNNING);
    assertThat(created.getLifecycleStage()).isEqualTo("active");
    assertThat(created.getStartTime()).isBetween(start, System.currentTimeMillis());
    // The Java client sends the local user name as user_id, and MLflow stores what it sends.
    assertThat(created.getUserId()).isEqualTo(System.getProperty("user.name"));

    String runId = created.getRunId();
    client.logParam(runId, "max_depth", "6");
    client.logMetric(runId, "loss", 0.9, 1_000L, 0);
    client.logMetric(runId, "loss", 0.5, 2_000L, 1);
    client.logMetric(runId, "loss", 0.7, 3_000L, 1);
    client.setTag(runId, "team", "fraud");
    client.setTag(runId, "temporary", "x");
    client.deleteTag(runId, "temporary");

    Service.Run run = client.getRun(runId);
    assertThat(run.getInfo().getRunId()).isEqualTo(runId);
    assertThat(params(run)).containsExactly(Map.entry("max_depth", "6"));
    assertThat(run.getData().getMetricsList()).hasSize(1);
    Service.Metric loss = run.getData().getMetrics(0);
    assertThat(loss.getKey()).isEqualTo("loss");
    assertThat(loss.getValue()).isEqualTo(0.7);
    assertThat(loss.getTimestamp()).isEqualTo(3_000L);
    assertThat(loss.getStep()).isEqualTo(1);
    assertThat(runTags(run)).containsEntry("team", "fraud").doesNotContainKey("temporary");
    assertThat(runTags(run)).containsEntry("mlflow.runName", run.getInfo().getRunName());

    List<Service.Metric> history = client.getMetricHistory(runId, "loss");
    assertThat(history).extracting(Service.Metric::getValue).containsExactly(0.9, 0.5, 0.7);
    assertThat(history)
        .extracting(Service.Metric::getTimestamp)
        .containsExactly(1_000L, 2_000L, 3_000L);
    assertThat(history).extracting(Service.Metric::getStep).containsExactly(0L, 1L, 1L);
  }

  @Test
  void logParamWithNewValueIsRejected() {
    String runId = client.createRun(client.createExperiment("exp-params")).getRunId();
    client.logParam(runId, "lr", "0.1");
    client.logParam(runId, "lr", "0.1");

    assertThatThrownBy(() -> client.logParam(runId, "lr", "0.2"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE");
            });
    assertThat(params(client.getRun(runId))).containsExactly(Map.entry("lr", "0.1"));
  }

  @Test
  void logBatchStoresEverything() {
    String runId = client.createRun(client.createExperiment("exp-batch")).getRunId();
    List<Service.Metric> metrics = new ArrayList<>();
    for (int step = 0; step < 5; step++) {
      metrics.add(
          Service.Metric.newBuilder()
              .setKey("acc")
              .setValue(0.5 + step * 0.1)
              .setTimestamp(10_000L + step)
              .setStep(step)
              .build());
    }
    metrics.add(
        Service.Metric.newBuilder()
            .setKey("nan_metric")
            .setValue(Double.NaN)
            .setTimestamp(1)
            .setStep(0)
            .build());
    List<Service.Param> params =
        List.of(
            Service.Param.newBuilder().setKey("a").setValue("1").build(),
            Service.Param.newBuilder().setKey("b").setValue("two").build());
    List<Service.RunTag> tags =
        List.of(Service.RunTag.newBuilder().setKey("stage").setValue("dev").build());

    client.logBatch(runId, metrics, params, tags);

    Service.Run run = client.getRun(runId);
    assertThat(params(run)).containsExactly(Map.entry("a", "1"), Map.entry("b", "two"));
    assertThat(runTags(run)).containsEntry("stage", "dev");
    Map<String, Double> latest =
        run.getData().getMetricsList().stream()
            .collect(Collectors.toMap(Service.Metric::getKey, Service.Metric::getValue));
    assertThat(latest.get("acc")).isCloseTo(0.9, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(latest.get("nan_metric")).isNaN();
    assertThat(client.getMetricHistory(runId, "acc")).hasSize(5);
  }

  @Test
  void setTerminatedDeleteAndRestoreRun() {
    String experimentId = client.createExperiment("exp-terminate");
    String runId = client.createRun(experimentId).getRunId();

    client.setTerminated(runId, Service.RunStatus.FAILED, 123_456L);
    Service.RunInfo info = client.getRun(runId).getInfo();
    assertThat(info.getStatus()).isEqualTo(Service.RunStatus.FAILED);
    assertThat(info.getEndTime()).isEqualTo(123_456L);

    client.deleteRun(runId);
    assertThat(client.getRun(runId).getInfo().getLifecycleStage()).isEqualTo("deleted");
    assertThat(client.searchRuns(List.of(experimentId), "")).isEmpty();
    assertThat(client.searchRuns(List.of(experimentId), "", Service.ViewType.DELETED_ONLY))
        .extracting(Service.RunInfo::getRunId)
        .containsExactly(runId);

    client.restoreRun(runId);
    assertThat(client.getRun(runId).getInfo().getLifecycleStage()).isEqualTo("active");
    assertThat(client.searchRuns(List.of(experimentId), ""))
        .extracting(Service.RunInfo::getRunId)
        .containsExactly(runId);
  }

  @Test
  void listRunInfosReturnsActiveRuns() {
    String experimentId = client.createExperiment("exp-list-infos");
    String first = client.createRun(experimentId).getRunId();
    String second = client.createRun(experimentId).getRunId();
    client.deleteRun(first);

    List<Service.RunInfo> infos = client.listRunInfos(experimentId);

    assertThat(infos).extracting(Service.RunInfo::getRunId).containsExactly(second);
    assertThat(infos.get(0).getExperimentId()).isEqualTo(experimentId);
    assertThat(infos.get(0).getLifecycleStage()).isEqualTo("active");
  }

  @Test
  void searchRunsFiltersOrdersAndPages() {
    String experimentId = client.createExperiment("exp-search-runs");
    Map<String, String> idsByName = new LinkedHashMap<>();
    double[] aucs = {0.62, 0.81, 0.74, 0.55};
    for (int i = 0; i < aucs.length; i++) {
      Service.RunInfo info =
          client.createRun(
              Service.CreateRun.newBuilder()
                  .setExperimentId(experimentId)
                  .setRunName("run-" + i)
                  .setStartTime(1_000L * (i + 1))
                  .build());
      idsByName.put("run-" + i, info.getRunId());
      client.logMetric(info.getRunId(), "auc", aucs[i]);
      client.logParam(info.getRunId(), "model", i % 2 == 0 ? "xgb" : "linear");
      client.setTag(info.getRunId(), "team", i < 2 ? "fraud" : "risk");
      if (i != 3) {
        client.setTerminated(info.getRunId());
      }
    }

    assertThat(names(search(experimentId, "metrics.auc > 0.6", List.of("metrics.auc DESC"))))
        .containsExactly("run-1", "run-2", "run-0");
    assertThat(names(search(experimentId, "params.model = 'xgb'", List.of("metrics.auc ASC"))))
        .containsExactly("run-0", "run-2");
    assertThat(
            names(
                search(
                    experimentId,
                    "tags.team = 'risk' AND attributes.status = 'FINISHED'",
                    List.of())))
        .containsExactly("run-2");
    assertThat(names(search(experimentId, "", List.of("attributes.start_time ASC"))))
        .containsExactly("run-0", "run-1", "run-2", "run-3");
    assertThat(names(search(experimentId, "", List.of())))
        .as("default order is start time, newest first")
        .containsExactly("run-3", "run-2", "run-1", "run-0");
    assertThat(
            names(
                search(
                    experimentId,
                    "attributes.run_name LIKE 'run-%' AND metrics.auc < 0.6",
                    List.of())))
        .containsExactly("run-3");

    RunsPage first =
        client.searchRuns(
            List.of(experimentId),
            "",
            Service.ViewType.ACTIVE_ONLY,
            3,
            List.of("metrics.auc DESC"));
    assertThat(names(first.getItems())).containsExactly("run-1", "run-2", "run-0");
    assertThat(first.hasNextPage()).isTrue();
    RunsPage second = (RunsPage) first.getNextPage();
    assertThat(names(second.getItems())).containsExactly("run-3");
    assertThat(second.hasNextPage()).isFalse();
    assertThat(idsByName).hasSize(4);
  }

  @Test
  void runCreationIsAuditedWithActor() {
    String runId = client.createRun(client.createExperiment("exp-audit")).getRunId();

    List<AuditEntry> entries = server.evergreen.store().listAuditEntries(0, 10_000);
    assertThat(entries)
        .anySatisfy(
            entry -> {
              assertThat(entry.action()).isEqualTo(TrackingService.RUN_CREATED);
              assertThat(entry.actor()).isEqualTo("mlflow-operator");
              assertThat(entry.targets()).containsEntry("run", runId);
            });
    assertThat(server.evergreen.verifyAudit().intact()).isTrue();
  }

  @Test
  void viewerTokenCannotWrite() {
    try (MlflowClient viewer = server.client(server.viewerSecret)) {
      assertThat(viewer.searchExperiments().getItems()).isNotEmpty();
      assertThatThrownBy(() -> viewer.createExperiment("exp-by-viewer"))
          .isInstanceOfSatisfying(
              MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(403));
    }
  }

  private static List<Service.Run> search(String experimentId, String filter, List<String> order) {
    return client
        .searchRuns(List.of(experimentId), filter, Service.ViewType.ACTIVE_ONLY, 100, order)
        .getItems();
  }

  private static List<String> names(List<Service.Run> runs) {
    return runs.stream().map(run -> run.getInfo().getRunName()).toList();
  }

  private static Map<String, String> tags(List<Service.ExperimentTag> tags) {
    Map<String, String> result = new LinkedHashMap<>();
    tags.forEach(tag -> result.put(tag.getKey(), tag.getValue()));
    return result;
  }

  private static Map<String, String> params(Service.Run run) {
    Map<String, String> result = new LinkedHashMap<>();
    run.getData().getParamsList().forEach(param -> result.put(param.getKey(), param.getValue()));
    return result;
  }

  private static Map<String, String> runTags(Service.Run run) {
    Map<String, String> result = new LinkedHashMap<>();
    run.getData().getTagsList().forEach(tag -> result.put(tag.getKey(), tag.getValue()));
    return result;
  }
}
