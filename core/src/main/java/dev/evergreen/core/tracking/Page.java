package dev.evergreen.core.tracking;

import java.util.List;

/**
 * One page of search results.
 *
 * @param nextPageToken opaque token for the next page, null on the last page
 */
public record Page<T>(List<T> items, String nextPageToken) {
  public Page {
    items = List.copyOf(items);
  }

  /**
   * Cuts the page that a token selects from sorted items.
   *
   * @param pageToken null or empty for the first page, else the {@code nextPageToken} of the
   *     previous page
   * @throws dev.evergreen.api.EvergreenException INVALID_INPUT for a token this class did not issue
   *     or a {@code maxResults} outside 1 to {@link TrackingService#MAX_RESULTS}
   */
  public static <T> Page<T> of(List<T> sorted, int maxResults, String pageToken) {
    return Searches.page(sorted, maxResults, pageToken);
  }
}
