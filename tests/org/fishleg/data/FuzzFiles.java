package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Fuzz-test helpers: one reused file per target (the readers take paths), and the one-line message check. */
public final class FuzzFiles {
    private FuzzFiles() {}

    private static Path dir;

    /** Writes {@code input} to a file named {@code name} in a folder private to this JVM and returns its path. */
    public static synchronized Path write(String name, byte[] input) throws IOException {
        if (dir == null) {
            Path base = Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(base);
            dir = Files.createTempDirectory(base, "fuzz-");
            dir.toFile().deleteOnExit();
        }
        Path f = dir.resolve(name);
        Files.write(f, input);
        f.toFile().deleteOnExit();
        return f;
    }

    /** The seed files named valid-* of fuzz target {@code method} of {@code test}, from the test class path. */
    public static java.util.List<Path> validSeeds(Class<?> test, String method) throws Exception {
        java.net.URL u = test.getResource(test.getSimpleName() + "Inputs/" + method);
        assertNotNull(u, "no seed folder for " + test.getSimpleName() + "." + method);
        try (java.util.stream.Stream<Path> s = Files.list(Path.of(u.toURI()))) {
            return s.filter(p -> p.getFileName().toString().startsWith("valid-")).sorted().collect(java.util.stream.Collectors.toList());
        }
    }

    /** The project's error messages are one line. */
    public static void checkOneLine(RuntimeException e) {
        String m = e.getMessage();
        assertNotNull(m, e.toString());
        assertFalse(m.contains("\n") || m.contains("\r"), "message is not one line: " + m);
    }
}
