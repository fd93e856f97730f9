package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.OptimizerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors checkpoint: exact round trip, the layout other readers see, what writing refuses. */
class CheckpointTest {

    @TempDir Path tmp;

    static final String SPEC = "4-3-2:linear";

    static Checkpoint sample() {
        Random r = new Random(3);
        Checkpoint c = new Checkpoint();
        c.modelSpec = SPEC;
        c.likelihood = Likelihood.gaussianLearned(0.1f, 1e-4f, 1f).toString();
        c.optimizerName = "adam";
        c.dataName = "toy";
        c.batchSize = 5;
        c.sampling = "bootstrap";
        c.step = 17;
        c.wallSeconds = 1.2345678901234567;
        c.lossSum = 0.1 + 0.2; // not exactly representable in a short decimal: Double.toString must round-trip it
        c.lossCount = 3;
        c.batchStream = new long[] {11, 4, 5, 20}; // step 17 with 4 batches of 5 per epoch
        c.auxStream = new long[] {-7, 0, 20, 20};
        c.rngSeed = Long.MIN_VALUE + 5;
        c.rngOffset = 123456789012L;
        int n = (int) MlpSpec.parse(SPEC).paramCount() + 1;
        c.params = new float[n];
        for (int i = 0; i < n; i++) c.params[i] = (float) r.nextGaussian();
        c.params[n - 1] = 0.25f; // sigma
        OptimizerState s = new OptimizerState("adam");
        float[] m = new float[n], v = new float[n];
        for (int i = 0; i < n; i++) { m[i] = (float) r.nextGaussian(); v[i] = Math.abs((float) r.nextGaussian()); }
        s.put("m", m).put("v", v).put("step", 17).put("size", n).put("hp.lr", 1e-3).put("hp.eps", 1.0000000000000001e-8);
        c.optimizerState = s;
        return c;
    }

    @Test
    void writeThenReadGivesEveryFieldBackExactly() {
        Checkpoint c = sample();
        Path p = tmp.resolve("a.ckpt");
        c.write(p);
        Checkpoint d = Checkpoint.read(p);
        assertEquals(c.modelSpec, d.modelSpec);
        assertEquals(c.likelihood, d.likelihood);
        assertEquals(c.optimizerName, d.optimizerName);
        assertEquals(c.dataName, d.dataName);
        assertEquals(c.batchSize, d.batchSize);
        assertEquals(c.sampling, d.sampling);
        assertEquals(c.step, d.step);
        assertEquals(c.wallSeconds, d.wallSeconds, 0);
        assertEquals(c.lossSum, d.lossSum, 0);
        assertEquals(c.lossCount, d.lossCount);
        assertArrayEquals(c.batchStream, d.batchStream);
        assertArrayEquals(c.auxStream, d.auxStream);
        assertEquals(c.rngSeed, d.rngSeed);
        assertEquals(c.rngOffset, d.rngOffset);
        assertArrayEquals(c.params, d.params);
        assertEquals(c.optimizerState, d.optimizerState);
        assertFalse(Files.exists(tmp.resolve("a.ckpt.tmp")), "the temporary file is gone");
        // a parameters-only file
        c.optimizerState = null;
        c.optimizerName = "";
        c.write(p);
        Checkpoint e = Checkpoint.read(p);
        assertTrue(e.parametersOnly());
        assertArrayEquals(c.params, e.params);
    }

    /** With sigma learned as log sigma the last parameter is log sigma: stored as likelihood.log_sigma, negative allowed. */
    @Test
    void logSigmaIsStoredAsItsOwnTensorAndMayBeNegative() throws IOException {
        Checkpoint c = sample();
        c.likelihood = Likelihood.gaussianLogSigma(0.1f, 1e-4f, 1f).toString();
        c.params[c.params.length - 1] = -2.5f; // log sigma
        Path p = tmp.resolve("logsigma.ckpt");
        c.write(p);
        Checkpoint d = Checkpoint.read(p);
        assertArrayEquals(c.params, d.params);
        String header = new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("\"likelihood.log_sigma\"") && !header.contains("\"likelihood.sigma\""), "tensor name");
    }

    @Test
    void concurrentWritersOfOneFileLeaveOneWholeCheckpointAndNoTemporaries() throws Exception {
        Path p = tmp.resolve("shared").resolve("latest.ckpt");
        Checkpoint a = sample(), b = sample();
        b.params[0] = a.params[0] + 1f;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (Checkpoint c : new Checkpoint[] {a, b})
                done.add(pool.submit(() -> { for (int i = 0; i < 40; i++) c.write(p); return null; }));
            for (java.util.concurrent.Future<?> f : done) f.get(); // a writer's failure surfaces here
        } finally {
            pool.shutdownNow();
        }
        Checkpoint d = Checkpoint.read(p);
        assertTrue(java.util.Arrays.equals(a.params, d.params) || java.util.Arrays.equals(b.params, d.params), "one writer's whole file");
        try (java.util.stream.Stream<Path> files = Files.list(p.getParent())) {
            assertEquals(java.util.List.of(p.getFileName()), files.map(Path::getFileName).collect(java.util.stream.Collectors.toList()),
                    "no temporary files left");
        }
    }

    @Test
    void aCheckpointThatWouldNotLoadIsNeverWritten() throws IOException {
        Path p = tmp.resolve("b.ckpt");
        Files.writeString(p, "previous");
        Checkpoint c = sample();
        c.params[2] = Float.NaN;
        CheckpointException e = assertThrows(CheckpointException.class, () -> c.write(p));
        assertTrue(e.getMessage().contains("refusing to write") && e.getMessage().contains("NaN"), e.getMessage());
        assertEquals("previous", Files.readString(p), "the file in place is untouched");
        Checkpoint d = sample();
        d.params = new float[3];
        assertThrows(CheckpointException.class, () -> d.write(p));
    }

    /**
     * A minimal safetensors reader written here, independent of {@link SafeTensors}: the header length, the header
     * JSON by regular expressions, and the raw little-endian floats. The weights appear as PyTorch or numpy users
     * expect: layerK.weight [in, out] (a = h W + b) and layerK.bias [out].
     */
    @Test
    void anIndependentReaderSeesNamedWeightsWithTheirShapes() throws IOException {
        Checkpoint c = sample();
        Path p = tmp.resolve("c.ckpt");
        c.write(p);
        byte[] all = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "the header is padded to 8 bytes");
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{") && header.trim().endsWith("}"), header);
        Pattern t = Pattern.compile("\"([^\"]+)\":\\{\"dtype\":\"([A-Z0-9]+)\",\"shape\":\\[([0-9,]*)\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}");
        Map<String, float[]> f32 = new HashMap<>();
        Map<String, String> shapes = new HashMap<>();
        Matcher m = t.matcher(header);
        long end = 0;
        while (m.find()) {
            long b = Long.parseLong(m.group(4)), e = Long.parseLong(m.group(5));
            shapes.put(m.group(1), m.group(2) + "[" + m.group(3) + "]");
            end = Math.max(end, e);
            if (m.group(2).equals("F32")) {
                float[] v = new float[(int) (e - b) / 4];
                ByteBuffer.wrap(all, (int) (8 + n + b), (int) (e - b)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
                f32.put(m.group(1), v);
            }
        }
        assertEquals(all.length, 8 + n + end, "the buffer ends at the end of the file");
        assertEquals("F32[4,3]", shapes.get("layer0.weight"));
        assertEquals("F32[3]", shapes.get("layer0.bias"));
        assertEquals("F32[3,2]", shapes.get("layer1.weight"));
        assertEquals("F32[2]", shapes.get("layer1.bias"));
        assertEquals("F32[1]", shapes.get("likelihood.sigma"));
        assertEquals("F32[" + c.params.length + "]", shapes.get("optim.m"));
        assertEquals("I64[2]", shapes.get("state.rng"));
        // the model's block for layer 0: (4 + 1) x 3, bias as row 0, row-major
        float[] w0 = f32.get("layer0.weight"), b0 = f32.get("layer0.bias");
        for (int j = 0; j < 3; j++) assertEquals(c.params[j], b0[j], 0);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) assertEquals(c.params[(i + 1) * 3 + j], w0[i * 3 + j], 0, "W[" + i + "][" + j + "]");
        float[] w1 = f32.get("layer1.weight"), b1 = f32.get("layer1.bias");
        int off = 15;
        for (int j = 0; j < 2; j++) assertEquals(c.params[off + j], b1[j], 0);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) assertEquals(c.params[off + (i + 1) * 2 + j], w1[i * 2 + j], 0);
        assertEquals(0.25f, f32.get("likelihood.sigma")[0], 0);
        assertArrayEquals(c.optimizerState.array("v"), f32.get("optim.v"));
        for (String key : new String[] {"\"format\":\"fishleg-checkpoint\"", "\"format_version\":\"3\"", "\"model\":\"" + SPEC + "\"",
                "\"step\":\"17\"", "\"loss_count\":\"3\"", "\"sampling\":\"bootstrap\"", "\"tensor_crc32c\":", "\"metadata_crc32c\":"})
            assertTrue(header.contains(key), key + " in " + header);
    }
}
