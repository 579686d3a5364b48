package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.ProfileCodec;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds a random fraction of the rows each model version scores to an in-memory {@link
 * DatasetProfile} of that version, to compare serving inputs with the training snapshot.
 *
 * <p>The profile has one column per input of the model's signature. A column gets the type it has
 * in the training snapshot, so that its sketches compare with the snapshot's profile, and {@code
 * DOUBLE} or {@code STRING} (by the input's datatype) when the snapshot lacks it. Looking up the
 * snapshot reads the store, so it runs on {@code resolver}'s executor when a version first scores
 * rows, and rows scored before the lookup ends are not sampled.
 *
 * <p>On the request path, a row costs one {@link ThreadLocalRandom} draw unless it is sampled.
 * Sampled rows are added under a lock per model version. Profiles live until the server stops.
 */
final class PredictionSampler {
  /** Environment variable with the fraction of rows to sample, 0 to 1. */
  static final String ENVIRONMENT = "EVERGREEN_PREDICTION_SAMPLE";

  static final double DEFAULT_FRACTION = 0.01;

  /** Gauge of the rows sampled per model version. */
  static final String ROWS_GAUGE = "evergreen.prediction.sample.rows";

  private static final Logger LOG = LoggerFactory.getLogger(PredictionSampler.class);

  private final double fraction;
  private final MeterRegistry meters;
  private final Executor executor;
  private final Function<ServableModel, Map<String, ColumnType>> resolver;

  /** Samples by loaded model; several loads of one version share one {@link Sample}. */
  private final ConcurrentHashMap<ServableModel, Sample> byModel = new ConcurrentHashMap<>();

  private final ConcurrentHashMap<VersionKey, Sample> byVersion = new ConcurrentHashMap<>();

  /** Versions unloaded since the server started, held weakly so they can be collected. */
  private final Set<ServableModel> unloaded =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  /**
   * @param fraction share of rows to sample, 0 to 1
   * @param executor runs {@code resolver}, never on an event loop
   * @param resolver returns the training snapshot's column types by name, empty when unknown
   */
  PredictionSampler(
      double fraction,
      MeterRegistry meters,
      Executor executor,
      Function<ServableModel, Map<String, ColumnType>> resolver) {
    this.fraction = checkFraction(fraction, "prediction sample fraction");
    this.meters = meters;
    this.executor = executor;
    this.resolver = resolver;
  }

  /**
   * Creates a sampler that reads the training snapshot's schema from {@code evergreen}'s store on a
   * Vert.x worker thread.
   */
  static PredictionSampler of(Evergreen evergreen, double fraction, Vertx vertx) {
    Executor worker =
        task ->
            vertx.executeBlocking(
                () -> {
                  task.run();
                  return null;
                },
                false);
    return new PredictionSampler(
        fraction, evergreen.meters(), worker, model -> snapshotTypes(evergreen, model));
  }

  /** Returns the fraction set by {@value #ENVIRONMENT}, or {@value #DEFAULT_FRACTION}. */
  static double fractionFromEnvironment() {
    String text = System.getenv(ENVIRONMENT);
    if (text == null || text.isBlank()) {
      return DEFAULT_FRACTION;
    }
    try {
      return checkFraction(Double.parseDouble(text.trim()), ENVIRONMENT);
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          ENVIRONMENT + " must be a number between 0 and 1, got '" + text + "'");
    }
  }

  static double checkFraction(double fraction, String name) {
    if (!(fraction >= 0.0 && fraction <= 1.0)) {
      throw EvergreenException.invalid(name + " must be between 0 and 1, got " + fraction);
    }
    return fraction;
  }

  double fraction() {
    return fraction;
  }

  /** Samples rows of a batch that {@code model} scored. */
  void sample(ServableModel model, InputBatch batch) {
    if (fraction == 0.0 || batch.rows() == 0) {
      return;
    }
    Sample sample = byModel.get(model);
    if (sample == null) {
      if (unloaded.contains(model)) {
        // The request chose the version before it was unloaded, so its rows are not sampled.
        return;
      }
      sample = byModel.computeIfAbsent(model, this::sampleOf);
    }
    if (sample.layout == null) {
      sample.resolve(model);
      return;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int[] chosen = null;
    int count = 0;
    for (int row = 0; row < batch.rows(); row++) {
      if (fraction == 1.0 || random.nextDouble() < fraction) {
        if (chosen == null) {
          chosen = new int[batch.rows() - row];
        }
        chosen[count++] = row;
      }
    }
    if (count > 0) {
      sample.add(batch, chosen, count);
    }
  }

  /**
   * Registers the rows gauge of a version that enters a serving slot, so that it exports 0 before
   * the first sampled row. A version loaded again after an unload keeps its earlier profile.
   */
  void versionLoaded(ServableModel model) {
    unloaded.remove(model);
    Sample sample = byModel.computeIfAbsent(model, this::sampleOf);
    String version = Integer.toString(model.version());
    // The gauge is gone when the version was unloaded before.
    if (meters.find(ROWS_GAUGE).tags("model", model.model(), "version", version).gauge() == null) {
      registerGauge(sample);
    }
  }

  /**
   * Forgets a version that left every serving slot, whose gauge the deployment manager removed. Its
   * profile stays, so the skew of a version that stopped serving can still be read.
   */
  void versionUnloaded(ServableModel model) {
    unloaded.add(model);
    byModel.remove(model);
  }

  /**
   * Returns a copy of the serving profile of a model version, empty until the version has scored
   * rows and the lookup of its training schema has ended.
   */
  Optional<DatasetProfile> profile(String model, int version) {
    Sample sample = byVersion.get(new VersionKey(model, version));
    return sample == null ? Optional.empty() : Optional.ofNullable(sample.copy());
  }

  private Sample sampleOf(ServableModel model) {
    return byVersion.computeIfAbsent(
        new VersionKey(model.model(), model.version()),
        key -> {
          Sample sample = new Sample(key);
          registerGauge(sample);
          return sample;
        });
  }

  private void registerGauge(Sample sample) {
    Gauge.builder(ROWS_GAUGE, sample, Sample::rows)
        .description("Serving rows sampled into the skew profile of a model version")
        .tags("model", sample.key.model(), "version", Integer.toString(sample.key.version()))
        .register(meters);
  }

  private static Map<String, ColumnType> snapshotTypes(Evergreen evergreen, ServableModel model) {
    ModelVersion version = evergreen.registry().require(model.model(), model.version());
    if (version.snapshotId() == null) {
      return Map.of();
    }
    Optional<Snapshot> snapshot = evergreen.store().findSnapshot(version.snapshotId());
    Map<String, ColumnType> types = new HashMap<>();
    snapshot.ifPresent(s -> s.schema().columns().forEach(c -> types.put(c.name(), c.type())));
    return types;
  }

  private record VersionKey(String model, int version) {}

  /** Column names, types and where each is read in an {@link InputBatch}. */
  private record Layout(String[] names, ColumnType[] types, boolean[] numericInput) {}

  /** The profile of one model version. */
  private final class Sample {
    private final VersionKey key;
    private final AtomicBoolean resolving = new AtomicBoolean();
    private volatile Layout layout;

    // Guarded by this.
    private long rows;
    private List<ColumnSketch> columns;

    Sample(VersionKey key) {
      this.key = key;
    }

    /** Starts the lookup of the column types once; rows are dropped until it ends. */
    void resolve(ServableModel model) {
      if (!resolving.compareAndSet(false, true)) {
        return;
      }
      executor.execute(
          () -> {
            Map<String, ColumnType> snapshot;
            try {
              snapshot = resolver.apply(model);
            } catch (RuntimeException e) {
              LOG.warn(
                  "cannot read the training snapshot schema of model {} version {}; serving"
                      + " inputs are profiled with the types of the model signature",
                  key.model(),
                  key.version(),
                  e);
              snapshot = Map.of();
            }
            install(layoutOf(model, snapshot));
          });
    }

    private synchronized void install(Layout resolved) {
      List<ColumnSketch> sketches = new ArrayList<>();
      for (int i = 0; i < resolved.names().length; i++) {
        sketches.add(new ColumnSketch(resolved.names()[i], resolved.types()[i]));
      }
      columns = sketches;
      layout = resolved;
    }

    synchronized void add(InputBatch batch, int[] chosen, int count) {
      Layout current = layout;
      for (int c = 0; c < current.names().length; c++) {
        ColumnSketch sketch = columns.get(c);
        ColumnType type = current.types()[c];
        if (current.numericInput()[c]) {
          double[] values = batch.numeric().get(current.names()[c]);
          for (int i = 0; i < count; i++) {
            addNumber(sketch, type, values == null ? Double.NaN : values[chosen[i]]);
          }
        } else {
          String[] values = batch.text().get(current.names()[c]);
          for (int i = 0; i < count; i++) {
            addText(sketch, type, values == null ? null : values[chosen[i]]);
          }
        }
      }
      rows += count;
    }

    synchronized long rows() {
      return rows;
    }

    /** Returns a deep copy, through the binary form, so that callers read it without the lock. */
    DatasetProfile copy() {
      byte[] encoded;
      synchronized (this) {
        if (columns == null) {
          return null;
        }
        encoded = ProfileCodec.encode(new DatasetProfile(rows, columns));
      }
      return ProfileCodec.decode(encoded);
    }
  }

  private static Layout layoutOf(ServableModel model, Map<String, ColumnType> snapshot) {
    List<TensorSpec> inputs = model.signature().inputs();
    String[] names = new String[inputs.size()];
    ColumnType[] types = new ColumnType[inputs.size()];
    boolean[] numericInput = new boolean[inputs.size()];
    for (int i = 0; i < inputs.size(); i++) {
      TensorSpec input = inputs.get(i);
      names[i] = input.name();
      numericInput[i] = !input.datatype().equals("BYTES");
      ColumnType fallback = numericInput[i] ? ColumnType.DOUBLE : ColumnType.STRING;
      types[i] = snapshot.getOrDefault(input.name(), fallback);
    }
    return new Layout(names, types, numericInput);
  }

  /** Adds a numeric input; NaN is how {@link InputBatch} marks a missing value. */
  private static void addNumber(ColumnSketch sketch, ColumnType type, double value) {
    if (Double.isNaN(value)) {
      sketch.addNull();
      return;
    }
    switch (type) {
      case INTEGER -> sketch.addInteger(Math.round(value));
      case DOUBLE -> sketch.addDouble(value);
      case BOOLEAN -> sketch.addText(Boolean.toString(value != 0.0));
      default -> sketch.addText(Double.toString(value));
    }
  }

  private static void addText(ColumnSketch sketch, ColumnType type, String value) {
    if (value == null) {
      sketch.addNull();
      return;
    }
    switch (type) {
      case TIMESTAMP -> {
        Long micros = parseMicros(value);
        if (micros == null) {
          sketch.addNull();
        } else {
          sketch.addTimestamp(micros);
        }
      }
      case DATE -> {
        Long micros = parseMicros(value);
        if (micros == null) {
          sketch.addNull();
        } else {
          sketch.addDate(Math.floorDiv(micros, 86_400_000_000L));
        }
      }
      case INTEGER, DOUBLE -> {
        try {
          addNumber(sketch, type, Double.parseDouble(value));
        } catch (NumberFormatException e) {
          sketch.addNull();
        }
      }
      default -> sketch.addText(value);
    }
  }

  /**
   * Parses ISO 8601 text as the model reads it: a date, a local date-time in UTC, or a date-time
   * with an offset. Returns null for other text, which the profile counts as null.
   *
   * <p>NOTE: offsets without a colon ({@code +01}, {@code +0100}) are read by the model but not
   * here, so such timestamps count as null in the serving profile.
   */
  static Long parseMicros(String text) {
    String normalised =
        text.length() > 10 && text.charAt(10) == ' ' ? text.replace(' ', 'T') : text;
    try {
      if (normalised.length() == 10) {
        return LocalDate.parse(normalised).toEpochDay() * 86_400_000_000L;
      }
      if (normalised.endsWith("Z")
          || normalised.endsWith("z")
          || normalised.lastIndexOf('+') > 10
          || normalised.lastIndexOf('-') > 10) {
        return ChronoUnit.MICROS.between(
            OffsetDateTime.of(1970, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC),
            OffsetDateTime.parse(normalised));
      }
      return ChronoUnit.MICROS.between(
          LocalDateTime.of(1970, 1, 1, 0, 0), LocalDateTime.parse(normalised));
    } catch (DateTimeParseException | ArithmeticException e) {
      return null;
    }
  }
}
