package dev.evergreen.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time used by the whole machine and by this process, read from Linux's {@code /proc}, so a
 * benchmark can report how much of the machine other processes took during a measurement.
 *
 * @param machineTicks busy time of all CPUs (user, nice, system, irq, softirq, steal)
 * @param processTicks user and system time of this process and of the processes passed to {@link
 *     #now}
 */
record CpuUsage(long machineTicks, long processTicks, long nanoTime) {
  /**
   * Clock ticks per second of {@code /proc/stat}. NOTE: assumed to be USER_HZ = 100, the value on
   * Linux for x86-64 and arm64; it is not read from the system.
   */
  private static final double TICKS_PER_SECOND = 100;

  /**
   * Reads the counters now, counting this process and the processes {@code pids} as own, or returns
   * null when {@code /proc} cannot be read.
   */
  static CpuUsage now(long... pids) {
    try {
      String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long busy = 0;
      // Fields after "cpu": user nice system idle iowait irq softirq steal.
      for (int field : new int[] {1, 2, 3, 6, 7, 8}) {
        busy += Long.parseLong(cpu[field]);
      }
      long own = processTicks(Path.of("/proc/self/stat"));
      for (long pid : pids) {
        own += processTicks(Path.of("/proc", Long.toString(pid), "stat"));
      }
      return new CpuUsage(busy, own, System.nanoTime());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static long processTicks(Path stat) throws IOException {
    String line = Files.readString(stat);
    // The process name may contain spaces, so fields are counted after its closing bracket.
    // utime and stime are fields 14 and 15 of the line, so 12 and 13 after the bracket.
    String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /**
   * Returns the average number of CPUs that other processes kept busy since {@code before}, or NaN
   * when either reading is missing.
   */
  static double otherCores(CpuUsage before, CpuUsage after) {
    if (before == null || after == null || after.nanoTime == before.nanoTime) {
      return Double.NaN;
    }
    long others =
        (after.machineTicks - before.machineTicks) - (after.processTicks - before.processTicks);
    double seconds = (after.nanoTime - before.nanoTime) / 1e9;
    return Math.max(0, others / TICKS_PER_SECOND / seconds);
  }
}
