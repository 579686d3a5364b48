package dev.evergreen.core.profile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Frequent values of a column, by the Misra-Gries algorithm with {@code capacity} counters and the
 * merge of Agarwal et al. ("Mergeable summaries", 2012).
 *
 * <p>Each stored count is a lower bound: the true count of a value lies in {@code [count(v),
 * count(v) + maxError()]}, and a value without a counter occurred at most {@code maxError()} times.
 * {@code maxError()} is the total amount subtracted from the counters, at most {@code total() /
 * (capacity + 1)}. A column with at most {@code capacity} distinct values is counted exactly and
 * {@code maxError()} stays 0.
 */
public final class FrequentItems {
  private final int capacity;
  private final Map<Object, long[]> counters;
  private long total;
  private long maxError;

  public FrequentItems(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
    this.counters = new HashMap<>(capacity * 2);
  }

  public int capacity() {
    return capacity;
  }

  /** Returns the number of values added. */
  public long total() {
    return total;
  }

  /** Returns the largest amount by which a count, or a missing value's zero, underestimates. */
  public long maxError() {
    return maxError;
  }

  public void add(Object value) {
    total++;
    long[] counter = counters.get(value);
    if (counter != null) {
      counter[0]++;
      return;
    }
    if (counters.size() < capacity) {
      counters.put(value, new long[] {1});
      return;
    }
    // The new value and every counter each lose one occurrence.
    maxError++;
    counters.values().removeIf(c -> --c[0] == 0);
  }

  /** Folds {@code other} into this sketch; both must have the same capacity. */
  public void merge(FrequentItems other) {
    if (other.capacity != capacity) {
      throw new IllegalArgumentException(
          "cannot merge frequent items with capacity " + capacity + " and " + other.capacity);
    }
    for (Map.Entry<Object, long[]> entry : other.counters.entrySet()) {
      counters.computeIfAbsent(entry.getKey(), key -> new long[1])[0] += entry.getValue()[0];
    }
    total += other.total;
    maxError += other.maxError;
    if (counters.size() > capacity) {
      long[] counts = counters.values().stream().mapToLong(c -> c[0]).sorted().toArray();
      long cut = counts[counts.length - capacity - 1];
      counters.values().removeIf(c -> (c[0] -= cut) <= 0);
      maxError += cut;
    }
  }

  /** Returns the stored count of {@code value}, 0 when it has no counter. */
  public long count(Object value) {
    long[] counter = counters.get(value);
    return counter == null ? 0 : counter[0];
  }

  /** Returns the number of counters in use. */
  public int size() {
    return counters.size();
  }

  /** Returns every counter, most frequent first, ties broken by the smaller value. */
  public List<Item> items() {
    List<Item> items = new ArrayList<>(counters.size());
    counters.forEach((value, counter) -> items.add(new Item(value, counter[0])));
    items.sort(Comparator.comparingLong(Item::count).reversed().thenComparing(Item::compareValues));
    return items;
  }

  /** Restores a sketch written by {@link ProfileCodec}. */
  static FrequentItems of(int capacity, long total, long maxError, List<Item> items) {
    if (items.size() > capacity) {
      throw new IllegalArgumentException(
          "corrupt frequent items: " + items.size() + " counters for capacity " + capacity);
    }
    FrequentItems sketch = new FrequentItems(capacity);
    for (Item item : items) {
      sketch.counters.put(item.value(), new long[] {item.count()});
    }
    sketch.total = total;
    sketch.maxError = maxError;
    return sketch;
  }

  /** One counted value: a string, a long or a double. */
  public record Item(Object value, long count) {
    @SuppressWarnings("unchecked")
    private static int compareValues(Item a, Item b) {
      return ((Comparable<Object>) a.value).compareTo(b.value);
    }
  }
}
