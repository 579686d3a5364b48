package dev.evergreen.core.deployment;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chooses which requests take a share of traffic, in basis points (1/100 of a percent).
 *
 * <p>A request with a key is placed by a hash of the key, so one caller always gets the same
 * decision for the same split. Requests without a key are counted, and request {@code n} is taken
 * when {@code floor((n + 1) * share)} exceeds {@code floor(n * share)}, so after any number of
 * unkeyed requests the taken count differs from the exact share by less than one request.
 */
public final class TrafficSplit {
  static final int SCALE = 10_000;

  private final int basisPoints;
  private final AtomicLong unkeyed = new AtomicLong();

  /**
   * @param percent share of requests taken, 0 to 100, rounded to 0.01
   */
  public TrafficSplit(double percent) {
    if (!(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException("percent must be between 0 and 100, got " + percent);
    }
    this.basisPoints = (int) Math.round(percent * 100);
  }

  public double percent() {
    return basisPoints / 100.0;
  }

  /** Returns whether this request is taken. */
  public boolean takes(String key) {
    if (basisPoints == 0) {
      return false;
    }
    if (basisPoints == SCALE) {
      return true;
    }
    if (key == null) {
      long n = unkeyed.getAndIncrement();
      return (n + 1) * basisPoints / SCALE > n * basisPoints / SCALE;
    }
    return bucket(key) < basisPoints;
  }

  /** Returns the bucket, 0 to 9,999, of a key: FNV-1a over its UTF-8 bytes, then a 64-bit mix. */
  static int bucket(String key) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    // The finalizer of MurmurHash3's 64-bit variant spreads keys that differ in one character.
    hash ^= hash >>> 33;
    hash *= 0xff51afd7ed558ccdL;
    hash ^= hash >>> 33;
    hash *= 0xc4ceb9fe1a85ec53L;
    hash ^= hash >>> 33;
    return (int) Long.remainderUnsigned(hash, SCALE);
  }
}
