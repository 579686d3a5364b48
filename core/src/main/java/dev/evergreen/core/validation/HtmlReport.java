package dev.evergreen.core.validation;

import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.FeatureDrift;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Renders a validation as one self-contained XHTML file: the verdict, every constraint with its
 * status and failing example rows, the drift table and one inline SVG chart per feature. The file
 * loads no script, style sheet, font or image, and parses as XML.
 *
 * @param title heading, such as the data file or the run id
 * @param verdict {@code accepted} or {@code rejected}
 * @param details lines shown under the heading, such as the snapshot and the row count
 * @param constraints constraint results to list, failed ones first
 * @param drift drift per feature, empty when none was measured
 * @param datasetDrift batch-level drift verdict, null when no drift was measured
 * @param charts one chart per feature
 */
public record HtmlReport(
    String title,
    String verdict,
    List<String> details,
    List<ConstraintResult> constraints,
    List<FeatureDrift> drift,
    DatasetDrift datasetDrift,
    List<FeatureChart> charts) {
  private static final int CHART_WIDTH = 640;
  private static final int CHART_HEIGHT = 180;
  private static final int AXIS = 40;
  private static final String REFERENCE_COLOUR = "#9aa5b1";
  private static final String CURRENT_COLOUR = "#2f855a";

  public HtmlReport {
    details = List.copyOf(details);
    constraints = List.copyOf(constraints);
    drift = List.copyOf(drift);
    charts = List.copyOf(charts);
  }

  /** Renders the report as XHTML text. */
  public String render() {
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html>\n")
        .append("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
        .append("<meta charset=\"utf-8\"/>\n<title>")
        .append(escape("Validation: " + title))
        .append("</title>\n<style>\n")
        .append(STYLE)
        .append("</style>\n</head>\n<body>\n");
    html.append("<h1>")
        .append(escape(title))
        .append("</h1>\n<p class=\"verdict ")
        .append(escape(verdict))
        .append("\" id=\"verdict\">")
        .append(escape(verdict))
        .append("</p>\n");
    for (String line : details) {
      html.append("<p>").append(escape(line)).append("</p>\n");
    }
    appendConstraints(html);
    appendDrift(html);
    appendCharts(html);
    html.append("</body>\n</html>\n");
    return html.toString();
  }

  private void appendConstraints(StringBuilder html) {
    html.append("<h2>Constraints</h2>\n");
    if (constraints.isEmpty()) {
      html.append("<p>No constraint results.</p>\n");
      return;
    }
    html.append("<table id=\"constraints\">\n<thead><tr><th>status</th><th>severity</th>")
        .append("<th>column</th><th>constraint</th><th>expected</th><th>observed</th>")
        .append("<th>failing rows</th></tr></thead>\n<tbody>\n");
    for (ConstraintResult constraint : constraints) {
      html.append("<tr class=\"")
          .append(escape(constraint.status().text()))
          .append("\"><td>")
          .append(escape(constraint.status().text()))
          .append("</td><td>")
          .append(escape(constraint.severity().text()))
          .append("</td><td>")
          .append(escape(constraint.column()))
          .append("</td><td>")
          .append(escape(constraint.name()))
          .append("</td><td>")
          .append(escape(constraint.expected()))
          .append("</td><td>")
          .append(escape(constraint.observed()))
          .append("</td><td>")
          .append(constraint.failingRows() == null ? "" : constraint.failingRows().toString())
          .append("</td></tr>\n");
      if (!constraint.examples().isEmpty()) {
        html.append("<tr class=\"examples\"><td colspan=\"7\">");
        appendExamples(html, constraint.examples());
        html.append("</td></tr>\n");
      }
    }
    html.append("</tbody>\n</table>\n");
  }

  /** Appends the failing rows as a table with one column per value that any row has. */
  private static void appendExamples(StringBuilder html, List<ExampleRow> examples) {
    Set<String> columns = new LinkedHashSet<>();
    examples.forEach(e -> columns.addAll(e.values().keySet()));
    html.append("<table class=\"failing-rows\"><thead><tr><th>row</th>");
    for (String column : columns) {
      html.append("<th>").append(escape(column)).append("</th>");
    }
    html.append("</tr></thead><tbody>");
    for (ExampleRow example : examples) {
      html.append("<tr class=\"failing-row\"><td>").append(example.row()).append("</td>");
      for (String column : columns) {
        Object value = example.values().get(column);
        html.append("<td>")
            .append(value == null ? "<em>null</em>" : escape(value.toString()))
            .append("</td>");
      }
      html.append("</tr>");
    }
    html.append("</tbody></table>");
  }

  private void appendDrift(StringBuilder html) {
    html.append("<h2>Drift</h2>\n");
    if (datasetDrift == null) {
      html.append("<p>No drift measured: there is no reference batch.</p>\n");
      return;
    }
    html.append("<p id=\"dataset-drift\">")
        .append(datasetDrift.drifted().size())
        .append(" of ")
        .append(datasetDrift.features().size())
        .append(" features drifted (")
        .append(escape(Validator.formatShare(datasetDrift.share())))
        .append(", threshold ")
        .append(escape(Validator.formatShare(datasetDrift.threshold())))
        .append("): the batch ")
        .append(datasetDrift.datasetDrifted() ? "drifted" : "did not drift")
        .append(".</p>\n");
    html.append("<table id=\"drift\">\n<thead><tr><th>feature</th><th>kind</th><th>psi</th>")
        .append("<th>ks</th><th>wasserstein</th><th>jensen_shannon</th><th>l_infinity</th>")
        .append("<th>chi-squared p-value</th><th>drifted</th></tr></thead>\n<tbody>\n");
    for (FeatureDrift feature : drift) {
      html.append("<tr><td>")
          .append(escape(feature.feature()))
          .append("</td><td>")
          .append(feature.kind() == null ? "" : escape(feature.kind()))
          .append("</td><td>")
          .append(metric(feature.psi()))
          .append("</td><td>")
          .append(metric(feature.ks()))
          .append("</td><td>")
          .append(metric(feature.wasserstein()))
          .append("</td><td>")
          .append(metric(feature.jensenShannon()))
          .append("</td><td>")
          .append(metric(feature.lInfinity()))
          .append("</td><td>")
          .append(
              feature.chiSquaredPValue() == null
                  ? ""
                  : Validator.formatPValue(feature.chiSquaredPValue()))
          .append("</td><td>")
          .append(feature.drifted() ? "yes" : "no")
          .append("</td></tr>\n");
    }
    html.append("</tbody>\n</table>\n");
  }

  private static String metric(Double value) {
    return value == null ? "" : Validator.formatPsi(value);
  }

  private void appendCharts(StringBuilder html) {
    html.append("<h2>Distributions</h2>\n<p class=\"legend\">")
        .append("<span style=\"color:" + REFERENCE_COLOUR + "\">&#9632;</span> reference ")
        .append("<span style=\"color:" + CURRENT_COLOUR + "\">&#9632;</span> current")
        .append(" (share of non-null values per bin)</p>\n");
    for (FeatureChart chart : charts) {
      Optional<FeatureDrift> featureDrift =
          drift.stream().filter(d -> d.feature().equals(chart.feature())).findFirst();
      html.append("<figure class=\"chart\" data-feature=\"")
          .append(escape(chart.feature()))
          .append("\">\n<figcaption>")
          .append(escape(chart.feature()))
          .append(" (")
          .append(escape(chart.kind()))
          .append(featureDrift.map(d -> ", psi " + Validator.formatPsi(d.psi())).orElse(""))
          .append(featureDrift.filter(FeatureDrift::drifted).map(d -> ", drifted").orElse(""))
          .append(")</figcaption>\n");
      appendSvg(html, chart);
      html.append("</figure>\n");
    }
  }

  /** Appends grouped bars: per bin the reference share (left) and the current share (right). */
  private static void appendSvg(StringBuilder html, FeatureChart chart) {
    int bins = chart.labels().size();
    double max = 0;
    for (int i = 0; i < bins; i++) {
      max = Math.max(max, chart.current()[i]);
      if (chart.reference() != null) {
        max = Math.max(max, chart.reference()[i]);
      }
    }
    int plotHeight = CHART_HEIGHT - AXIS;

    html.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
        .append(CHART_WIDTH)
        .append("\" height=\"")
        .append(CHART_HEIGHT)
        .append("\" viewBox=\"0 0 ")
        .append(CHART_WIDTH)
        .append(' ')
        .append(CHART_HEIGHT)
        .append("\" role=\"img\">\n");
    html.append("<line x1=\"0\" y1=\"")
        .append(plotHeight)
        .append("\" x2=\"")
        .append(CHART_WIDTH)
        .append("\" y2=\"")
        .append(plotHeight)
        .append("\" stroke=\"#444\"/>\n");
    if (bins == 0 || max == 0) {
      html.append("<text x=\"4\" y=\"20\">no values</text>\n</svg>\n");
      return;
    }

    double slot = (double) CHART_WIDTH / bins;
    double bar = chart.reference() == null ? slot * 0.8 : slot * 0.4;
    List<String> axisLabels = axisLabels(chart.labels(), slot);
    for (int i = 0; i < bins; i++) {
      double x = i * slot + slot * 0.1;
      String label = chart.labels().get(i);
      if (chart.reference() != null) {
        appendBar(
            html,
            x,
            bar,
            chart.reference()[i],
            max,
            plotHeight,
            REFERENCE_COLOUR,
            "reference " + label);
        x += bar;
      }
      appendBar(
          html, x, bar, chart.current()[i], max, plotHeight, CURRENT_COLOUR, "current " + label);
      if (!axisLabels.get(i).isEmpty()) {
        html.append("<text x=\"")
            .append(coordinate(i * slot + slot / 2))
            .append("\" y=\"")
            .append(plotHeight + 14)
            .append("\" font-size=\"10\" text-anchor=\"middle\">")
            .append(escape(axisLabels.get(i)))
            .append("</text>\n");
      }
    }
    html.append("</svg>\n");
  }

  private static void appendBar(
      StringBuilder html,
      double x,
      double width,
      double share,
      double max,
      int plotHeight,
      String colour,
      String title) {
    double height = share / max * (plotHeight - 8);
    html.append("<rect x=\"")
        .append(coordinate(x))
        .append("\" y=\"")
        .append(coordinate(plotHeight - height))
        .append("\" width=\"")
        .append(coordinate(width))
        .append("\" height=\"")
        .append(coordinate(height))
        .append("\" fill=\"")
        .append(colour)
        .append("\"><title>")
        .append(escape(title + ": " + String.format(Locale.ROOT, "%.2f%%", share * 100)))
        .append("</title></rect>\n");
  }

  /**
   * Returns the axis label of each bin: the label cut to fit its slot, or empty for every bin but
   * every {@code step}-th when the slots are too narrow for text. Numeric bins show their lower
   * end.
   */
  private static List<String> axisLabels(List<String> labels, double slot) {
    int characters = Math.max(1, (int) (slot / 6));
    int step = characters >= 4 ? 1 : (int) Math.ceil(4.0 / characters);
    List<String> labelsOnAxis = new ArrayList<>();
    for (int i = 0; i < labels.size(); i++) {
      String label = labels.get(i);
      int cut = label.indexOf(" to ");
      String text = cut > 0 ? label.substring(0, cut) : label;
      int width = Math.max(characters * step, 4);
      if (i % step != 0) {
        text = "";
      } else if (text.length() > width) {
        text = text.substring(0, width - 1) + "\u2026";
      }
      labelsOnAxis.add(text);
    }
    return labelsOnAxis;
  }

  private static String coordinate(double value) {
    return String.format(Locale.ROOT, "%.1f", value);
  }

  /** Escapes text for XHTML content and attribute values. */
  static String escape(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder escaped = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> escaped.append("&amp;");
        case '<' -> escaped.append("&lt;");
        case '>' -> escaped.append("&gt;");
        case '"' -> escaped.append("&quot;");
        case '\'' -> escaped.append("&#39;");
        default -> {
          // XML 1.0 forbids most control characters, even escaped.
          if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
            escaped.append('\uFFFD');
          } else {
            escaped.append(c);
          }
        }
      }
    }
    return escaped.toString();
  }

  private static final String STYLE =
      """
      body { font-family: sans-serif; margin: 2em; color: #1a202c; }
      table { border-collapse: collapse; margin-bottom: 1em; }
      th, td { border: 1px solid #cbd5e0; padding: 0.2em 0.5em; text-align: left; \
      vertical-align: top; }
      tr.failed td { background: #fff5f5; }
      tr.skipped td { color: #718096; }
      table.failing-rows { margin: 0.3em 0 0.3em 2em; font-size: 90%; }
      .verdict { font-size: 140%; font-weight: bold; }
      .verdict.accepted { color: #2f855a; }
      .verdict.rejected { color: #c53030; }
      figure.chart { margin: 1em 0; }
      """;
}
