package dev.evergreen.server;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.DriftSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.SnapshotProfiles;
import dev.evergreen.core.validation.ProfileDrift;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Training-serving skew: {@code GET /api/v1/models/{name}/versions/{version}/skew} compares the
 * profile of the version's training snapshot with the profile of the serving inputs that {@link
 * PredictionSampler} sampled, with the drift metrics and default thresholds of pipeline runs.
 */
final class SkewApi {
  /** Sampled rows below which the comparison is rejected with 409, because it would be noise. */
  static final long MIN_ROWS = 100;

  static final String PATH = "/api/v1/models/:name/versions/:version/skew";

  private final Evergreen evergreen;
  private final PredictionSampler sampler;

  private SkewApi(Evergreen evergreen, PredictionSampler sampler) {
    this.evergreen = evergreen;
    this.sampler = sampler;
  }

  static void register(
      Router router,
      Vertx vertx,
      Evergreen evergreen,
      Authenticator authenticator,
      PredictionSampler sampler) {
    SkewApi api = new SkewApi(evergreen, sampler);
    router
        .get(PATH)
        .handler(
            authenticator.require(Role.VIEWER, "GET /api/v1/models/{name}/versions/{version}/skew"))
        .handler(ctx -> api.skew(ctx, vertx));
  }

  /**
   * The comparison of one model version.
   *
   * @param trainingSnapshot id of the snapshot the version was trained on
   * @param sampledRows serving rows in the sampled profile
   * @param sampleFraction share of scored rows the server samples
   * @param skipped signature inputs left out: missing from the training snapshot, or of another
   *     type there
   */
  record Report(
      String model,
      int version,
      String trainingSnapshot,
      long sampledRows,
      double sampleFraction,
      List<FeatureDrift> features,
      List<String> drifted,
      double share,
      double threshold,
      boolean datasetDrifted,
      List<String> skipped) {}

  private void skew(RoutingContext ctx, Vertx vertx) {
    String name = ctx.pathParam("name");
    String versionText = ctx.pathParam("version");
    int version;
    try {
      version = Integer.parseInt(versionText);
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          "version '" + InferenceRequestDecoder.abbreviate(versionText) + "' is not an integer");
    }
    vertx
        .executeBlocking(() -> report(name, version), false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else {
                RestApi.send(ctx, 200, result.result());
              }
            });
  }

  private Report report(String name, int version) {
    ModelVersion model = evergreen.registry().require(name, version);
    DatasetProfile serving = sampler.profile(name, version).orElse(null);
    long rows = serving == null ? 0 : serving.rows();
    if (rows < MIN_ROWS) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "model '"
              + name
              + "' version "
              + version
              + " has "
              + rows
              + " sampled serving rows, and skew needs at least "
              + MIN_ROWS
              + "; the server samples "
              + sampler.fraction()
              + " of scored rows (set "
              + PredictionSampler.ENVIRONMENT
              + " to change it), so send more inference requests and try again");
    }
    DatasetProfile training = trainingProfile(model);
    List<String> skipped = new ArrayList<>();
    FeaturesSpec features = features(training, serving, skipped);
    // NOTE: the default thresholds apply even when the training pipeline sets its own under
    // validation.drift, because a model version does not record its pipeline file.
    DatasetDrift drift = ProfileDrift.measure(features, DriftSpec.DEFAULT, training, serving);
    return new Report(
        name,
        version,
        model.snapshotId(),
        rows,
        sampler.fraction(),
        drift.features(),
        drift.drifted(),
        drift.share(),
        drift.threshold(),
        drift.datasetDrifted(),
        skipped);
  }

  private DatasetProfile trainingProfile(ModelVersion model) {
    String label = "model '" + model.model() + "' version " + model.version();
    if (model.snapshotId() == null) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          label + " was registered without a training snapshot, so there is no profile to compare");
    }
    Snapshot snapshot =
        evergreen
            .store()
            .findSnapshot(model.snapshotId())
            .orElseThrow(
                () ->
                    new EvergreenException(
                        ErrorKind.NOT_FOUND,
                        "training snapshot " + model.snapshotId() + " of " + label + " not found"));
    Optional<DatasetProfile> profile = SnapshotProfiles.read(evergreen.artifacts(), snapshot);
    return profile.orElseThrow(
        () ->
            new EvergreenException(
                ErrorKind.CONFLICT,
                "training snapshot "
                    + snapshot.shortId()
                    + " of "
                    + label
                    + " was stored before binary profiles were kept, so skew cannot be"
                    + " measured; retrain on a newer snapshot"));
  }

  /**
   * Lists the serving columns that the training profile has with the same type. Numbers become
   * numeric features, and strings and booleans categorical features. Dates and timestamps become
   * their hour of day and day of week, because every serving time is later than the training times.
   */
  static FeaturesSpec features(
      DatasetProfile training, DatasetProfile serving, List<String> skipped) {
    List<String> numeric = new ArrayList<>();
    List<String> categorical = new ArrayList<>();
    List<DerivedFeature> derived = new ArrayList<>();
    for (ColumnSketch column : serving.columns()) {
      String name = column.name();
      Optional<ColumnSketch> reference = training.column(name);
      if (reference.isEmpty() || reference.get().type() != column.type()) {
        skipped.add(name);
        continue;
      }
      ColumnType type = column.type();
      if (type.isNumeric()) {
        numeric.add(name);
      } else if (type == ColumnType.STRING || type == ColumnType.BOOLEAN) {
        categorical.add(name);
      } else {
        derived.add(new DerivedFeature("hour_of_day(" + name + ")", name, "hour_of_day"));
        derived.add(new DerivedFeature("day_of_week(" + name + ")", name, "day_of_week"));
      }
    }
    return new FeaturesSpec(numeric, categorical, derived, null);
  }
}
