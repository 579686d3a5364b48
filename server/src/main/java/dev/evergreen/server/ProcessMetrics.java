package dev.evergreen.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

/**
 * Micrometer's JVM and process meters of a server process: memory pools and buffers, garbage
 * collection, threads, loaded classes, CPU use and count, uptime and open file descriptors. Bind
 * them once per process, to the registry that {@code /metrics} exports, and close them when the
 * server stops, because the garbage collection meters listen to the JVM's collectors.
 */
public final class ProcessMetrics implements AutoCloseable {
  private final JvmGcMetrics gc;

  private ProcessMetrics(JvmGcMetrics gc) {
    this.gc = gc;
  }

  /** Binds the JVM and process meters to {@code registry}. */
  public static ProcessMetrics bind(MeterRegistry registry) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    return new ProcessMetrics(gc);
  }

  /** Stops listening to garbage collections. The meters stay registered. */
  @Override
  public void close() {
    gc.close();
  }
}
