package org.fishleg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.fishleg.train.Checkpoint;
import org.fishleg.train.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each way a checkpoint can be damaged or lie (issue 11) is refused by {@code train --resume} with one line on
 * stderr and exit code 2, never loaded, never an internal error or a stack trace. Values that are wrong but
 * carry matching checksums (as a buggy writer would produce) are caught by the range and finiteness checks.
 */
class CheckpointCorruptionTest {

    @TempDir static Path tmp;
    static Path good;

    /** A real checkpoint: 2 steps of the deep linear network with FishLeg. */
    @BeforeAll
    static void writeOne() {
        Path ck = tmp.resolve("ck");
        MainTest.Run r = MainTest.run("train", "--model", "dln", "--steps", "2", "--backend", "cpu", "--metrics", "none",
                "--checkpoint-dir", ck.toString(), "--progress", "none");
        assertEquals(0, r.code(), r.err());
        good = ck.resolve(Checkpoint.LATEST);
    }

    private static Path copy(String name) throws IOException {
        return Files.copy(good, tmp.resolve(name + ".ckpt"));
    }

    private static MainTest.Run resume(Path file) {
        return MainTest.run("train", "--model", "dln", "--steps", "4", "--backend", "cpu", "--metrics", "none",
                "--progress", "none", "--resume", file.toString());
    }

    private static void refused(Path file, String expect) {
        MainTest.Run r = resume(file);
        assertEquals(2, r.code(), file + " -> " + r.err());
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), "one line on stderr, got:\n" + r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertTrue(lines.get(0).contains(expect), "expected '" + expect + "' in: " + lines.get(0));
    }

    /** Rewrites a copy after {@code edit}, with both checksums recomputed (so only the value checks can catch it). */
    private static Path resealed(String name, Consumer<SafeTensors.Contents> edit) throws Exception {
        SafeTensors.Contents c = SafeTensors.read(good);
        edit.accept(c);
        Checkpoint.reseal(c);
        Path p = tmp.resolve(name + ".ckpt");
        SafeTensors.write(c, p);
        return p;
    }

    /** Byte offset in the file of tensor {@code name}'s data. */
    private static long dataOffset(Path file, String name) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        int at = header.indexOf("\"" + name + "\"");
        int o = header.indexOf("\"data_offsets\":[", at) + "\"data_offsets\":[".length();
        return 8 + n + Long.parseLong(header.substring(o, header.indexOf(',', o)));
    }

    @Test
    void theUndamagedCheckpointResumes() {
        MainTest.Run r = resume(good);
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void aFlippedExponentBitInAParameterFailsTheChecksum() throws Exception {
        Path p = copy("flip");
        long off = dataOffset(p, "layer0.weight") + 4 * 3 + 3; // float 3, most significant byte (little-endian)
        try (var ch = java.nio.channels.FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, off);
            b.put(0, (byte) (b.get(0) ^ 0x40)); // the top exponent bit: 0.0133 becomes ~1e36
            ch.write(b.rewind(), off);
        }
        refused(p, "tensor 'layer0.weight' fails its checksum");
    }

    @Test
    void anEditedHeaderFailsTheHeaderChecksum() throws Exception {
        byte[] all = Files.readAllBytes(good);
        String s = new String(all, StandardCharsets.ISO_8859_1);
        int i = s.indexOf("\"step\":\"2\"");
        assertTrue(i > 0);
        all[i + "\"step\":\"".length()] = '7';
        Path p = tmp.resolve("header-edit.ckpt");
        Files.write(p, all);
        refused(p, "the header fails its checksum");
    }

    @Test
    void outOfRangeValuesWithMatchingChecksumsAreRefused() throws Exception {
        refused(resealed("step", c -> c.metadata.put("step", "-5")), "step -5 is negative");
        refused(resealed("optstep", c -> c.metadata.put("optimizer_numbers",
                c.metadata.get("optimizer_numbers").replaceFirst("\"step\":\\d+", "\"step\":1e30"))), "optimizer step 1.0E30 is not a step count");
        refused(resealed("optstep9", c -> c.metadata.put("optimizer_numbers",
                c.metadata.get("optimizer_numbers").replaceFirst("\"step\":\\d+", "\"step\":9"))), "optimizer step 9 exceeds the 2 training steps");
        refused(resealed("losscount", c -> c.metadata.put("loss_count", "-7")), "loss_count -7 is negative");
        refused(resealed("wall", c -> c.metadata.put("wall_seconds", "NaN")), "wall_seconds is NaN");
        refused(resealed("rng", c -> c.tensors.put("state.rng",
                SafeTensors.Entry.i64(new long[] {c.tensors.get("state.rng").longs()[0], -1}, 2))), "state.rng offset -1 is negative");
        refused(resealed("nan", c -> {
            float[] w = c.tensors.get("layer0.weight").floats();
            w[5] = Float.NaN;
            c.tensors.put("layer0.weight", SafeTensors.Entry.f32(w, c.tensors.get("layer0.weight").shape));
        }), "tensor 'layer0.weight' holds NaN at element 5");
        refused(resealed("stream", c -> {
            long[] s = c.tensors.get("state.batch_stream").longs();
            s[2] = s[3] + 1;
            c.tensors.put("state.batch_stream", SafeTensors.Entry.i64(s, 4));
        }), "state.batch_stream position");
        refused(resealed("epoch", c -> {
            long[] s = c.tensors.get("state.batch_stream").longs();
            s[1]++;
            c.tensors.put("state.batch_stream", SafeTensors.Entry.i64(s, 4));
        }), "does not match step 2");
        refused(resealed("missing", c -> c.tensors.remove("likelihood.sigma")), "tensor 'likelihood.sigma' is missing");
        refused(resealed("shape", c -> {
            SafeTensors.Entry w = c.tensors.get("layer0.weight");
            c.tensors.put("layer0.weight", new SafeTensors.Entry("F32", new long[] {w.shape[0] * w.shape[1]}, w.data));
        }), "tensor 'layer0.weight' is F32 [400], expected F32 [20, 20]");
        refused(resealed("extra", c -> c.tensors.put("optim.stray", SafeTensors.Entry.f32(new float[] {1f}, 1))), "state array 'stray'");
    }

    @Test
    void damagedFilesAreRefusedBeforeAnythingIsAllocated() throws Exception {
        Path trailing = copy("trailing");
        Files.write(trailing, new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
        refused(trailing, "3 trailing bytes after the last tensor");

        byte[] all = Files.readAllBytes(good);
        Path huge = tmp.resolve("huge.ckpt");
        byte[] h = all.clone();
        ByteBuffer.wrap(h, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(huge, h);
        refused(huge, "header length 1099511627776 exceeds");

        Path truncated = tmp.resolve("truncated.ckpt");
        Files.write(truncated, Arrays.copyOf(all, all.length - 100));
        refused(truncated, "(truncated)");

        Path headerOnly = tmp.resolve("short.ckpt");
        Files.write(headerOnly, Arrays.copyOf(all, 5));
        refused(headerOnly, "truncated: 5 bytes");

        Path empty = tmp.resolve("empty.ckpt");
        Files.write(empty, new byte[0]);
        refused(empty, "truncated: 0 bytes");
    }

    /** Every one of 300 single-bit flips anywhere in the file is caught (no silent load, no internal error). */
    @Test
    void everySingleBitFlipIsCaught() throws Exception {
        byte[] all = Files.readAllBytes(good);
        java.util.Random r = new java.util.Random(11);
        Path p = tmp.resolve("bitflip.ckpt");
        for (int k = 0; k < 300; k++) {
            byte[] b = all.clone();
            int i = k < 40 ? k : r.nextInt(b.length); // the length field and the header's start, then anywhere
            b[i] ^= (byte) (1 << r.nextInt(8));
            Files.write(p, b);
            try {
                Checkpoint.read(p);
                throw new AssertionError("a flip at byte " + i + " loaded");
            } catch (org.fishleg.train.CheckpointException e) {
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            }
        }
        refusedOldFormat();
    }

    private void refusedOldFormat() throws IOException {
        Path old = tmp.resolve("old-format.ckpt");
        try (var out = new java.io.DataOutputStream(Files.newOutputStream(old))) {
            out.writeUTF("FISHLEG-CKPT");
            out.writeInt(2);
        }
        refused(old, "earlier binary format");
    }
}
