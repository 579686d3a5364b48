package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessMetricsTest {
  @TempDir Path dir;

  @Test
  void boundMetersAppearOnMetricsEndpoint() throws Exception {
    try (ServerFixture fixture = new ServerFixture(dir)) {
      String before = fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();
      assertThat(before).doesNotContain("\njvm_memory_used_bytes{");

      String exported;
      try (ProcessMetrics bound = ProcessMetrics.bind(fixture.meters)) {
        exported = "\n" + fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();
      }

      assertThat(exported).contains("\njvm_memory_used_bytes{");
      assertThat(exported).contains("\njvm_buffer_memory_used_bytes{");
      assertThat(exported).contains("\njvm_gc_memory_allocated_bytes_total ");
      assertThat(exported).contains("\njvm_threads_live_threads ");
      assertThat(exported).contains("\njvm_classes_loaded_classes ");
      assertThat(exported).contains("\nprocess_cpu_usage ");
      assertThat(exported).contains("\nsystem_cpu_count ");
      assertThat(exported).contains("\nprocess_uptime_seconds ");
      assertThat(exported).contains("\nprocess_files_open_files ");
    }
  }
}
