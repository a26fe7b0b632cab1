package energytelemetry.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system (checksums included) that sets a file's or directory's permissions
 * through java.nio. Without Hadoop's native library, Hadoop's own starts a `chmod` process for
 * every file and directory it creates: a seed-rate day's run started 169 of them, on the path of
 * every table write and commit. The permissions set are the same; a sticky bit, which java.nio
 * cannot set, still goes through Hadoop's way.
 *
 * Named by `fs.file.impl` (profiles/profiles.yml) when `telemetry jars` has built it.
 */
public class LocalFileSystem extends org.apache.hadoop.fs.LocalFileSystem {

    public LocalFileSystem() {
        super(new Raw());
    }

    /** The raw (checksum-less) local file system under the checksums. */
    public static class Raw extends RawLocalFileSystem {
        @Override
        public void setPermission(Path path, FsPermission permission) throws IOException {
            if (permission.getStickyBit()) {
                super.setPermission(path, permission);
                return;
            }
            Files.setPosixFilePermissions(pathToFile(path).toPath(), posix(permission));
        }
    }

    /** The POSIX permissions of a Hadoop permission (its sticky bit aside). */
    public static Set<PosixFilePermission> posix(FsPermission permission) {
        return PosixFilePermissions.fromString(permission.getUserAction().SYMBOL
            + permission.getGroupAction().SYMBOL + permission.getOtherAction().SYMBOL);
    }
}
