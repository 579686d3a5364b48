package dev.evergreen.core.serving.external;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;

/** Common part of the servable models trained outside Evergreen: identity, signature, check set. */
abstract sealed class ExternalModel implements ServableModel permits OnnxModel, XgboostFileModel {
  final String model;
  final int version;
  final ExternalSignature declared;
  private final Signature served;
  private final CheckSet checkSet;

  ExternalModel(String model, int version, ExternalSignature declared, CheckSet checkSet) {
    this.model = model;
    this.version = version;
    this.declared = declared;
    this.served = declared.served();
    this.checkSet = checkSet;
  }

  @Override
  public String model() {
    return model;
  }

  @Override
  public int version() {
    return version;
  }

  @Override
  public Signature signature() {
    return served;
  }

  @Override
  public int outputWidth() {
    return declared.outputWidth();
  }

  /** Returns a copy, so no caller can change the scores another caller checks against. */
  @Override
  public CheckSet checkSet() {
    return checkSet == null ? null : checkSet.copy();
  }

  /**
   * Returns the values of a numeric input, {@code rows * valuesPerRow} of them.
   *
   * @throws EvergreenException of kind INVALID_INPUT naming the input when it is missing or has
   *     another number of values
   */
  double[] numeric(InputBatch batch, TensorSpec spec) {
    double[] values = batch.numeric().get(spec.name());
    if (values == null) {
      throw missing(spec);
    }
    checkLength(batch, spec, values.length);
    return values;
  }

  /** Returns the values of a BYTES input, as {@link #numeric} does for numbers. */
  String[] text(InputBatch batch, TensorSpec spec) {
    String[] values = batch.text().get(spec.name());
    if (values == null) {
      throw missing(spec);
    }
    checkLength(batch, spec, values.length);
    return values;
  }

  /** Selects the configured output column from {@code rows * k} values, or returns them all. */
  double[] selectColumn(double[] values, int rows) {
    Integer column = declared.outputColumn();
    if (column == null) {
      return values;
    }
    int width = values.length / Math.max(rows, 1);
    double[] selected = new double[rows];
    for (int row = 0; row < rows; row++) {
      selected[row] = values[row * width + column];
    }
    return selected;
  }

  private EvergreenException missing(TensorSpec spec) {
    return EvergreenException.invalid(
        "missing input '"
            + spec.name()
            + "' ("
            + spec.datatype()
            + ", shape "
            + spec.shape()
            + ") for model '"
            + model
            + "' version "
            + version);
  }

  private void checkLength(InputBatch batch, TensorSpec spec, int length) {
    long expected = (long) batch.rows() * ExternalSignature.valuesPerRow(spec);
    if (length != expected) {
      throw EvergreenException.invalid(
          "input '"
              + spec.name()
              + "' has "
              + length
              + " values but "
              + batch.rows()
              + " rows of shape "
              + spec.shape()
              + " need "
              + expected);
    }
  }
}
