package org.fishleg.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes sure java.io.tmpdir exists before JUnit's @TempDir uses it: the build points it at
 * target/tmp, which a fresh checkout does not have.
 */
final class TmpDirs {
    private TmpDirs() {}

    static void ensure() {
        try {
            Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
