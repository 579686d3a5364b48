package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.Run;
import java.util.concurrent.CompletableFuture;

/** A queued run: its id is known at once, its result when it finishes. */
public record SubmittedRun(String runId, CompletableFuture<Run> result) {}
