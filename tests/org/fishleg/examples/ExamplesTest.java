package org.fishleg.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.fishleg.data.Mnist;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The examples README.md shows: the README quotes examples/org/fishleg/examples/QuickStart.java verbatim
 * (so the snippet always compiles: it is this file), and QuickStart trains on real MNIST (CI fetches it;
 * skipped with one line when data/mnist is absent).
 */
class ExamplesTest {

    static final Path QUICK_START = Path.of("examples/org/fishleg/examples/QuickStart.java");

    /** The body of the first fenced java block under the heading "## Using it as a library". */
    static String readmeJavaBlock() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("\n## Using it as a library\n");
        assertTrue(section >= 0, "README.md has no '## Using it as a library' section");
        String open = "```java\n";
        int start = readme.indexOf(open, section);
        assertTrue(start >= 0, "no ```java block in README.md's library section");
        start += open.length();
        int end = readme.indexOf("\n```\n", start);
        assertTrue(end >= 0, "unterminated ```java block in README.md");
        return readme.substring(start, end + 1);
    }

    @Test
    void readmeQuotesQuickStartVerbatim() throws IOException {
        // always there in the repository; absent only where the compiled tests run alone (the GPU bundle)
        Assumptions.assumeTrue(Files.isRegularFile(Path.of("README.md")) && Files.isRegularFile(QUICK_START),
                "README.md or " + QUICK_START + " not in " + Path.of("").toAbsolutePath() + "; skipping");
        assertEquals(Files.readString(QUICK_START), readmeJavaBlock(),
                "README.md's library example must be " + QUICK_START + " verbatim: copy the file into the README block");
    }

    @Test
    void quickStartTrainsOnMnist() {
        Path dir = Mnist.defaultDir();
        boolean present = Mnist.FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)));
        Assumptions.assumeTrue(present, "MNIST not found in " + dir.toAbsolutePath() + " (run ./fishleg fetch-mnist); skipping");
        int steps = 40;
        float[] losses = QuickStart.train(dir, steps);
        assertEquals(steps, losses.length);
        for (float l : losses) assertTrue(Float.isFinite(l), "non-finite loss in " + Arrays.toString(losses));
        double last5 = 0;
        for (int i = steps - 5; i < steps; i++) last5 += losses[i] / 5.0;
        System.out.printf(Locale.ROOT, "QuickStart: batch loss %.1f -> mean of the last 5 %.1f%n", losses[0], last5);
        assertTrue(last5 < 0.8 * losses[0], "loss " + losses[0] + " -> " + last5 + ": expected at least 20% lower; "
                + Arrays.toString(losses));
    }
}
