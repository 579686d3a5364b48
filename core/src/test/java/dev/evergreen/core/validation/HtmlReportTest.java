package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The HTML report of a stored run on February 2001 against January, with a warning rule that long
 * flights break: parsed as XML and checked for its verdict, charts and failing rows.
 */
class HtmlReportTest {
  static final String XHTML = "http://www.w3.org/1999/xhtml";
  static final String SVG = "http://www.w3.org/2000/svg";
  static final String VALIDATION =
      """
      validation:
        inferRules: false
        rules:
          - column: distance
            max: 2500
            severity: warning
      """;

  @TempDir Path work;

  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeEach
  void open() throws Exception {
    evergreen =
        TestEvergreens.open(
            new InMemoryMetadataStore(),
            work,
            Clock.fixed(Instant.parse("2001-03-02T00:00:00Z"), ZoneOffset.UTC));
    pipelineFile = work.resolve("flights.yaml");
    Files.writeString(pipelineFile, TestPipelines.flightsYaml(VALIDATION));
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  static Document parse(String html) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
    return factory
        .newDocumentBuilder()
        .parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
  }

  static List<Element> elements(Document document, String namespace, String name) {
    NodeList nodes = document.getElementsByTagNameNS(namespace, name);
    List<Element> elements = new ArrayList<>();
    for (int i = 0; i < nodes.getLength(); i++) {
      elements.add((Element) nodes.item(i));
    }
    return elements;
  }

  static List<Element> withClass(Document document, String name, String className) {
    return elements(document, XHTML, name).stream()
        .filter(e -> List.of(e.getAttribute("class").split(" ")).contains(className))
        .toList();
  }

  private String storedReport(Run run, PipelineSpec spec) {
    return StoredRunReport.of(
            evergreen.store(), evergreen.artifacts(), evergreen.snapshots(), 1, run.id(), spec)
        .render();
  }

  @Test
  void storedRunReportIsWellFormed() throws Exception {
    Path january = TestDuckDb.flightsMonth(work.resolve("january.parquet"), 1, 3_000);
    Path february = TestDuckDb.flightsMonth(work.resolve("february.parquet"), 2, 3_000);
    evergreen.pipelines().run(pipelineFile, january, "tester");
    Run second = evergreen.pipelines().run(pipelineFile, february, "tester");
    PipelineSpec spec = TestPipelines.flights(VALIDATION);

    String html = storedReport(second, spec);
    Document document = parse(html);

    assertThat(document.getDocumentElement().getLocalName()).isEqualTo("html");
    assertThat(document.getDocumentElement().getNamespaceURI()).isEqualTo(XHTML);
    assertThat(elements(document, XHTML, "p"))
        .filteredOn(e -> e.getAttribute("id").equals("verdict"))
        .singleElement()
        .satisfies(e -> assertThat(e.getTextContent()).isEqualTo("accepted"));
    assertThat(elements(document, XHTML, "p"))
        .filteredOn(e -> e.getAttribute("id").equals("dataset-drift"))
        .singleElement()
        .satisfies(e -> assertThat(e.getTextContent()).contains("of 5 features drifted"));
    List<Element> charts = withClass(document, "figure", "chart");
    assertThat(charts)
        .extracting(e -> e.getAttribute("data-feature"))
        .containsExactly("distance", "origin", "destination", "hour", "day_of_week");
    for (Element chart : charts) {
      NodeList svgs = chart.getElementsByTagNameNS(SVG, "svg");
      assertThat(svgs.getLength()).as(chart.getAttribute("data-feature")).isEqualTo(1);
      assertThat(((Element) svgs.item(0)).getElementsByTagNameNS(SVG, "rect").getLength())
          .as("bars of " + chart.getAttribute("data-feature"))
          .isGreaterThan(2);
    }
    List<Element> failingRows = withClass(document, "tr", "failing-row");
    assertThat(failingRows).hasSize(Validator.EXAMPLE_ROWS);
    for (Element row : failingRows) {
      NodeList cells = row.getElementsByTagNameNS(XHTML, "td");
      assertThat(cells.getLength()).isEqualTo(2);
      assertThat(Long.parseLong(cells.item(1).getTextContent())).isGreaterThan(2500);
    }
    assertThat(html).doesNotContain("<script").doesNotContain("src=").doesNotContain("href=");
    assertThat(html).doesNotContain("url(").doesNotContain("@import");
  }

  @Test
  void failingRowsMatchSnapshotValues() throws Exception {
    Path january = TestDuckDb.flightsMonth(work.resolve("january.parquet"), 1, 3_000);
    Run first = evergreen.pipelines().run(pipelineFile, january, "tester");

    Document document = parse(storedReport(first, null));

    List<Element> failingRows = withClass(document, "tr", "failing-row");
    assertThat(failingRows).isNotEmpty();
    Element row = failingRows.get(0);
    NodeList cells = row.getElementsByTagNameNS(XHTML, "td");
    long rowNumber = Long.parseLong(cells.item(0).getTextContent());
    String distance =
        TestDuckDb.value(
            "SELECT distance FROM read_parquet("
                + TestDuckDb.path(january)
                + ", file_row_number = true) WHERE file_row_number = "
                + (rowNumber - 1));
    assertThat(cells.item(1).getTextContent()).isEqualTo(distance);
    // Without a pipeline, every column is charted, and without a reference only this batch.
    assertThat(withClass(document, "figure", "chart"))
        .extracting(e -> e.getAttribute("data-feature"))
        .containsExactly("date", "delay", "distance", "origin", "destination");
    assertThat(document.getElementsByTagNameNS(SVG, "rect").getLength()).isGreaterThan(5);
  }

  @Test
  void textIsEscaped() throws Exception {
    HtmlReport report =
        new HtmlReport(
            "a <b> & \"c\" 'd'\u0001",
            "accepted",
            List.of("x < y"),
            List.of(),
            List.of(),
            null,
            List.of(
                new FeatureChart(
                    "f&g", "categorical", List.of("<v>"), new double[] {1}, new double[] {1})));

    Document document = parse(report.render());

    assertThat(elements(document, XHTML, "h1").get(0).getTextContent())
        .isEqualTo("a <b> & \"c\" 'd'\uFFFD");
    assertThat(withClass(document, "figure", "chart").get(0).getAttribute("data-feature"))
        .isEqualTo("f&g");
  }

  @Test
  void unknownRunNotFound() {
    assertThatThrownBy(
            () ->
                StoredRunReport.of(
                    evergreen.store(),
                    evergreen.artifacts(),
                    evergreen.snapshots(),
                    1,
                    "nope",
                    null))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("run 'nope' not found");
  }
}
