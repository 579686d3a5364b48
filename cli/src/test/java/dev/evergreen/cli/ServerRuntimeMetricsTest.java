package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerRuntimeMetricsTest {
  private static final String SECRET = "evg_test_admin_secret";

  @TempDir Path home;

  @Test
  void metricsIncludeJvmAndProcessSeries() throws Exception {
    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), SECRET, Duration.ofMillis(100))) {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
              .header("Authorization", "Bearer " + SECRET)
              .timeout(Duration.ofSeconds(30))
              .build();
      HttpResponse<String> response =
          HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      String exported = "\n" + response.body();
      assertThat(exported).contains("\njvm_memory_used_bytes{");
      assertThat(exported).contains("\njvm_gc_memory_allocated_bytes_total ");
      assertThat(exported).contains("\njvm_threads_live_threads ");
      assertThat(exported).contains("\njvm_classes_loaded_classes ");
      assertThat(exported).contains("\nprocess_cpu_usage ");
      assertThat(exported).contains("\nprocess_uptime_seconds ");
      assertThat(exported).contains("\nprocess_files_open_files ");
    }
  }
}
