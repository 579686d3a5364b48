package dev.evergreen.cli;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive operating-system lock on {@code HOME/server.lock}, held while a server runs on that
 * data directory. It keeps a second server, or a demo that would empty the directory, away from a
 * home that a running server uses. The operating system releases it when the process dies.
 */
final class ServerLock implements AutoCloseable {
  static final String FILE = "server.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private ServerLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of a data directory.
   *
   * @throws EvergreenException CONFLICT when another server has taken it
   */
  static ServerLock acquire(Path home) throws IOException {
    Files.createDirectories(home);
    FileChannel channel =
        FileChannel.open(home.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "another server is running on data directory "
              + home.toAbsolutePath()
              + "; stop it first, or pick another directory with --home");
    }
    return new ServerLock(channel, lock);
  }

  /** Returns whether a running server has taken the lock of a data directory. */
  static boolean isHeld(Path home) throws IOException {
    if (!Files.exists(home.resolve(FILE))) {
      return false;
    }
    try (ServerLock ignored = acquire(home)) {
      return false;
    } catch (EvergreenException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
