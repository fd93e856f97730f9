package org.fishleg.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.fishleg.api.History;
import org.fishleg.api.Model;
import org.fishleg.data.Dataset;
import org.fishleg.data.Mnist;
import org.fishleg.data.Splits;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The examples README.md shows: the README quotes examples/org/fishleg/examples/QuickStart.java and Classifier.java
 * verbatim, in that order (so the snippets always compile: they are these files), and both train in seconds on a
 * subset of MNIST (2,000 training and 500 test images) when data/mnist is present, else on synthetic 784-pixel data.
 */
class ExamplesTest {

    static final Path QUICK_START = Path.of("examples/org/fishleg/examples/QuickStart.java");
    static final Path CLASSIFIER = Path.of("examples/org/fishleg/examples/Classifier.java");

    @TempDir Path tmp;

    /** The bodies of the fenced java blocks under the heading "## Using it as a library", up to the next "## " heading. */
    static List<String> readmeJavaBlocks() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("\n## Using it as a library\n");
        assertTrue(section >= 0, "README.md has no '## Using it as a library' section");
        int next = readme.indexOf("\n## ", section + 1);
        String body = readme.substring(section, next < 0 ? readme.length() : next);
        List<String> blocks = new ArrayList<>();
        String open = "```java\n";
        for (int start = body.indexOf(open); start >= 0; start = body.indexOf(open, start)) {
            start += open.length();
            int end = body.indexOf("\n```\n", start);
            assertTrue(end >= 0, "unterminated ```java block in README.md");
            blocks.add(body.substring(start, end + 1));
            start = end;
        }
        return blocks;
    }

    @Test
    void readmeQuotesTheExamplesVerbatim() throws IOException {
        // always there in the repository; absent only where the compiled tests run alone (the GPU bundle)
        Assumptions.assumeTrue(Files.isRegularFile(Path.of("README.md")) && Files.isRegularFile(QUICK_START),
                "README.md or " + QUICK_START + " not in " + Path.of("").toAbsolutePath() + "; skipping");
        List<String> blocks = readmeJavaBlocks();
        assertEquals(2, blocks.size(), "README.md's library section should quote QuickStart.java and Classifier.java");
        assertEquals(Files.readString(QUICK_START), blocks.get(0),
                "README.md's first library example must be " + QUICK_START + " verbatim: copy the file into the README block");
        assertEquals(Files.readString(CLASSIFIER), blocks.get(1),
                "README.md's second library example must be " + CLASSIFIER + " verbatim: copy the file into the README block");
    }

    static boolean mnistPresent() {
        Path dir = Mnist.defaultDir();
        return Mnist.FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    /** 784 "pixels" in [0, 1]: class c lights the pixels j with j % 10 == c; labels kept. */
    static Dataset synthetic(String name, int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 784];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(10);
            for (int j = 0; j < 784; j++)
                x[i * 784 + j] = (float) Math.min(1, Math.max(0, (j % 10 == labels[i] ? 0.8 : 0.1) + 0.1 * r.nextGaussian()));
        }
        return Dataset.autoencoder(name, x, n, 784, labels);
    }

    /** Auto-encoder splits: an MNIST subset, else synthetic. */
    static Splits small() {
        if (mnistPresent()) {
            Splits m = Mnist.load(Mnist.defaultDir());
            return new Splits(m.train().slice(0, 2000), null, m.test().slice(0, 500));
        }
        return new Splits(synthetic("synthetic, train", 2000, 1), null, synthetic("synthetic, test", 500, 2));
    }

    @Test
    void quickStartTrainsTheAutoEncoder() {
        History h = QuickStart.train(small(), 3);
        double[] loss = h.test("loss");
        assertEquals(3, loss.length, h.toString());
        for (double l : loss) assertTrue(Double.isFinite(l), h.toString());
        System.out.print("QuickStart:\n" + h);
        assertTrue(loss[2] < 0.9 * loss[0], "expected the test loss at least 10% lower after 3 epochs: " + h);
    }

    @Test
    void classifierLearnsSavesAndLoads() {
        Splits s = small();
        Splits labelled = new Splits(s.train().withOneHotTargets(10), null, s.test().withOneHotTargets(10));
        Path file = tmp.resolve("classifier.safetensors");
        History h = Classifier.train(labelled, 3, file);
        System.out.print("Classifier:\n" + h);
        assertTrue(h.last().test("accuracy") > 0.8, h.toString());
        try (Model m = Model.load(file, "cpu")) {
            assertEquals("784-256-10:linear", m.spec().toString());
            assertEquals(h.last().test("accuracy"),
                    m.evaluate(labelled.test(), org.fishleg.api.Evaluator.accuracy()).get("accuracy"), 0);
        }
    }
}
