package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import picocli.CommandLine;

/** {@code evergreen validate --html} and {@code evergreen runs report --html}, run in-process. */
class HtmlReportCommandTest {
  static final String XHTML = "http://www.w3.org/1999/xhtml";
  static final String SVG = "http://www.w3.org/2000/svg";

  @TempDir Path dir;

  int execute(String... args) {
    CommandLine commandLine = Main.commandLine();
    commandLine.setOut(new PrintWriter(new StringWriter(), true));
    commandLine.setErr(new PrintWriter(new StringWriter(), true));
    return commandLine.execute(args);
  }

  static Document parse(Path file) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    return factory.newDocumentBuilder().parse(file.toFile());
  }

  static List<Element> withClass(Document document, String name, String className) {
    NodeList nodes = document.getElementsByTagNameNS(XHTML, name);
    List<Element> elements = new ArrayList<>();
    for (int i = 0; i < nodes.getLength(); i++) {
      Element element = (Element) nodes.item(i);
      if (List.of(element.getAttribute("class").split(" ")).contains(className)) {
        elements.add(element);
      }
    }
    return elements;
  }

  @Test
  void validateWritesHtmlWithFailingRows() throws Exception {
    Path data = Files.writeString(dir.resolve("batch.csv"), ValidateCommandTest.CSV);
    Path pipeline =
        Files.writeString(
            dir.resolve("pipeline.yaml"),
            ValidateCommandTest.PIPELINE
                + "    - column: delay\n      min: -120\n      severity: error\n");
    Path html = dir.resolve("report.html");

    int exit = execute("validate", pipeline.toString(), data.toString(), "--html", html.toString());

    assertThat(exit).isEqualTo(ValidateCommand.EXIT_REJECTED);
    Document document = parse(html);
    assertThat(withClass(document, "p", "verdict").get(0).getTextContent()).isEqualTo("rejected");
    assertThat(withClass(document, "figure", "chart"))
        .extracting(e -> e.getAttribute("data-feature"))
        .containsExactly("delay", "origin");
    for (Element chart : withClass(document, "figure", "chart")) {
      assertThat(chart.getElementsByTagNameNS(SVG, "svg").getLength()).isEqualTo(1);
    }
    List<Element> failingRows = withClass(document, "tr", "failing-row");
    assertThat(failingRows).hasSize(2);
    assertThat(failingRows.get(0).getElementsByTagNameNS(XHTML, "td").item(0).getTextContent())
        .isEqualTo("2");
    assertThat(failingRows.get(0).getElementsByTagNameNS(XHTML, "td").item(1).getTextContent())
        .isEqualTo("-130");
    assertThat(failingRows.get(1).getElementsByTagNameNS(XHTML, "td").item(1).getTextContent())
        .isEqualTo("-200");
  }

  @Test
  void runsReportWritesStoredRun() throws Exception {
    Path home = dir.resolve("home");
    Path pipeline = FlightBatches.pipeline(dir.resolve("pipeline"), 3);
    Path january = FlightBatches.month(dir.resolve("data"), 1, 3_000, null);
    Path february = FlightBatches.month(dir.resolve("data"), 2, 3_000, null);
    for (Path month : List.of(january, february)) {
      Main.execute(
          "run", pipeline.toString(), "--data", month.toString(), "--home", home.toString());
    }
    String runId;
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      runId =
          evergreen.store().listRuns("flights-delay", 1).stream().findFirst().map(Run::id).get();
    }
    Path html = dir.resolve("run.html");

    int exit =
        execute("runs", "report", runId, "--html", html.toString(), "--home", home.toString());

    assertThat(exit).isZero();
    Document document = parse(html);
    assertThat(withClass(document, "figure", "chart"))
        .extracting(e -> e.getAttribute("data-feature"))
        .containsExactly("distance", "origin", "destination", "hour", "day_of_week");
    assertThat(document.getElementsByTagNameNS(XHTML, "table").getLength()).isGreaterThan(0);
  }

  @Test
  void runsReportUnknownRunFails() {
    int exit =
        execute(
            "runs",
            "report",
            "nope",
            "--html",
            dir.resolve("x.html").toString(),
            "--home",
            dir.resolve("home").toString());

    assertThat(exit).isNotZero();
    assertThat(dir.resolve("x.html")).doesNotExist();
  }
}
