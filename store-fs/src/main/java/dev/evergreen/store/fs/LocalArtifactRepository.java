package dev.evergreen.store.fs;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.tracking.ArtifactPaths;
import dev.evergreen.core.tracking.ArtifactRepository;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ArtifactRepository} in a local folder: the artifact path {@code a/b/c.txt} is the file
 * {@code root/a/b/c.txt}.
 *
 * <p>An upload streams into {@code root/.uploads/}, syncs the file to disk and renames it to its
 * path with an atomic move, so readers see the old file or the complete new one. {@link #open}
 * deletes uploads older than {@link #STALE_UPLOAD_AGE}, which a crash left behind.
 *
 * <p>Every path must stay inside the root after symbolic links are followed: the deepest part of
 * the path that exists is resolved to its real path and compared with the root's real path.
 */
public final class LocalArtifactRepository implements ArtifactRepository {
  private static final Logger log = LoggerFactory.getLogger(LocalArtifactRepository.class);

  /** Folder of uploads in progress; it is hidden from listings and cannot be an artifact path. */
  static final String UPLOADS = ".uploads";

  /** Age after which a file in {@link #UPLOADS} counts as left over by a crashed upload. */
  public static final Duration STALE_UPLOAD_AGE = Duration.ofHours(1);

  private static final boolean SYNC_DIRECTORIES =
      !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

  private final Path root;
  private final Path uploads;

  private LocalArtifactRepository(Path realRoot) {
    this.root = realRoot;
    this.uploads = realRoot.resolve(UPLOADS);
  }

  /** Opens the repository at {@code root}, creating the folder when missing. */
  public static LocalArtifactRepository open(Path root) {
    try {
      Files.createDirectories(root);
      LocalArtifactRepository repository = new LocalArtifactRepository(root.toRealPath());
      Files.createDirectories(repository.uploads);
      repository.deleteStaleUploads(Instant.now().minus(STALE_UPLOAD_AGE));
      return repository;
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot open MLflow artifact folder " + root + ": " + e + "; check that it is writable",
          e);
    }
  }

  /** Returns the real path of the root folder. */
  public Path root() {
    return root;
  }

  @Override
  public Upload upload(String path) throws IOException {
    Path target = resolve(path, false);
    if (Files.isDirectory(target)) {
      throw ArtifactPaths.invalid(path, "it names a folder; upload to a path inside it");
    }
    Path file = Files.createTempFile(uploads, "upload-", ".tmp");
    try {
      return new LocalUpload(path, file, FileChannel.open(file, StandardOpenOption.WRITE));
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
  }

  @Override
  public Content open(String path) throws IOException {
    Path file = resolve(path, false);
    if (!Files.exists(file)) {
      throw notFound(path);
    }
    if (Files.isDirectory(file)) {
      throw ArtifactPaths.invalid(path, "it names a folder; list it to see its files");
    }
    // The real path was checked by resolve; opening it does not follow links a second time.
    FileChannel channel;
    try {
      channel = FileChannel.open(file.toRealPath(), StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw notFound(path);
    }
    try {
      return new Content(channel.size(), Channels.newInputStream(channel));
    } catch (IOException e) {
      channel.close();
      throw e;
    }
  }

  @Override
  public List<Entry> list(String path) throws IOException {
    Path folder = resolve(path, true);
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> children = Files.newDirectoryStream(folder)) {
      for (Path child : children) {
        String name = child.getFileName().toString();
        if (folder.equals(root) && name.equals(UPLOADS)) {
          continue;
        }
        try {
          if (!child.toRealPath().startsWith(root)) {
            log.debug("not listing {}: its symbolic link leads outside {}", child, root);
            continue;
          }
          BasicFileAttributes attributes = Files.readAttributes(child, BasicFileAttributes.class);
          entries.add(
              new Entry(
                  name,
                  attributes.isDirectory(),
                  attributes.isDirectory() ? null : attributes.size()));
        } catch (NoSuchFileException e) {
          // Deleted meanwhile, or a symbolic link whose target is missing.
        }
      }
    } catch (NotDirectoryException | NoSuchFileException e) {
      return List.of();
    }
    entries.sort(Comparator.comparing(Entry::name));
    return entries;
  }

  @Override
  public void delete(String path) throws IOException {
    Path target = resolve(path, false);
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw notFound(path);
    }
    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      // walkFileTree does not follow symbolic links, so it deletes links, never their targets.
      Files.walkFileTree(
          target,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path directory, IOException e)
                throws IOException {
              if (e != null) {
                throw e;
              }
              Files.deleteIfExists(directory);
              return FileVisitResult.CONTINUE;
            }
          });
    } else {
      Files.deleteIfExists(target);
    }
    log.debug("deleted MLflow artifact {} in {}", path, root);
  }

  /**
   * Returns the file system path of an artifact path after checking that it stays inside the root.
   */
  private Path resolve(String path, boolean allowRoot) throws IOException {
    List<String> segments = ArtifactPaths.segments(path, allowRoot);
    if (!segments.isEmpty() && segments.get(0).equals(UPLOADS)) {
      throw ArtifactPaths.invalid(path, "'" + UPLOADS + "' is reserved for uploads in progress");
    }
    Path resolved = root;
    for (String segment : segments) {
      resolved = resolved.resolve(segment);
    }
    if (!resolved.normalize().startsWith(root)) {
      throw ArtifactPaths.invalid(path, "it resolves outside the artifact root");
    }
    confine(path, resolved);
    return resolved;
  }

  /**
   * Checks that the deepest existing part of a path, with symbolic links followed, is inside the
   * root. Parts below it do not exist yet, so they are created as plain folders.
   *
   * <p>NOTE: a process that can write inside the root could still swap a folder for a link between
   * this check and the file operation that follows it; the check guards against links that exist
   * when a request arrives.
   */
  private void confine(String path, Path resolved) throws IOException {
    Path existing = resolved;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      throw ArtifactPaths.invalid(path, "it resolves outside the artifact root");
    }
    Path real;
    try {
      real = existing.toRealPath();
    } catch (NoSuchFileException e) {
      throw ArtifactPaths.invalid(path, "it goes through a symbolic link whose target is missing");
    }
    if (!real.startsWith(root)) {
      throw ArtifactPaths.invalid(
          path, "it goes through a symbolic link that leads outside the artifact root");
    }
  }

  private static EvergreenException notFound(String path) {
    return EvergreenException.notFound(
        "no artifact at '" + path + "'; list its folder to see which files exist");
  }

  private void deleteStaleUploads(Instant cutoff) throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(uploads)) {
      for (Path file : files) {
        try {
          if (Files.getLastModifiedTime(file).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(file);
            log.info("deleted {}, left by an interrupted MLflow artifact upload", file);
          }
        } catch (NoSuchFileException e) {
          // Another process finished or removed it meanwhile.
        }
      }
    }
  }

  private static void syncDirectory(Path directory) throws IOException {
    if (!SYNC_DIRECTORIES) {
      return;
    }
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** An upload into a temporary file that {@link #commit} renames to the artifact's path. */
  private final class LocalUpload implements Upload {
    private final String path;
    private final Path file;
    private final FileChannel channel;
    private boolean committed;

    LocalUpload(String path, Path file, FileChannel channel) {
      this.path = path;
      this.file = file;
      this.channel = channel;
    }

    @Override
    public void write(ByteBuffer bytes) throws IOException {
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
    }

    @Override
    public void commit() throws IOException {
      channel.force(true);
      channel.close();
      // Checked again because folders may have changed while the body arrived.
      Path target = resolve(path, false);
      Path folder = target.getParent();
      try {
        Files.createDirectories(folder);
      } catch (FileAlreadyExistsException e) {
        throw ArtifactPaths.invalid(path, "a part of it before the file name is a file");
      }
      // createDirectories follows links that appeared after the check, so check once more.
      confine(path, target);
      if (Files.isDirectory(target)) {
        throw ArtifactPaths.invalid(path, "it names a folder; upload to a path inside it");
      }
      // On POSIX systems rename replaces an existing file atomically.
      Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
      committed = true;
      syncDirectory(folder);
      log.debug("stored MLflow artifact {} in {}", path, root);
    }

    @Override
    public void close() throws IOException {
      channel.close();
      if (!committed) {
        Files.deleteIfExists(file);
      }
    }
  }
}
