package org.fishleg.train;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.fishleg.optim.OptimizerState;

/**
 * Everything needed to continue a training run exactly: the model (spec, likelihood, flat parameters), the
 * optimizer's state, the step, the batch order and auxiliary sampler positions, the backend's random
 * stream position, elapsed wall time and the partly accumulated training loss of the current metrics row.
 *
 * <p>Binary format (big-endian, {@link DataOutputStream}): magic "FISHLEG-CKPT", version, then the fields
 * in declaration order, the parameters as raw float bits, then an optional {@link OptimizerState}. Version 2
 * added {@link #sampling} after the batch size; a version 1 file (written before there was a choice) reads
 * as "shuffle". A file
 * without optimizer state ("parameters only") is written when a run diverges: it holds the last
 * parameters known to give finite losses. Files are written to a temporary file and moved into place, so a
 * crash never leaves a half-written checkpoint.
 */
public final class Checkpoint {
    public static final String MAGIC = "FISHLEG-CKPT";
    public static final int VERSION = 2;
    /** The oldest version {@link #read} still accepts. */
    public static final int OLDEST_READABLE = 1;
    /** File name of the latest checkpoint inside --checkpoint-dir. */
    public static final String LATEST = "checkpoint.ckpt";
    /** File name of checkpoint number {@code step} when every checkpoint is kept. */
    public static String stepFile(long step) { return "step-" + step + ".ckpt"; }

    /** File name of the parameters saved when a run diverges. */
    public static final String LAST_FINITE = "last-finite.ckpt";

    public String modelSpec;
    public String likelihood;
    public String optimizerName;
    public String dataName;
    public int batchSize;
    /** {@link Sampling#cliName()} of the batch draws: the meaning of {@link #batchStream} and {@link #auxStream}. */
    public String sampling = Sampling.SHUFFLE.cliName();
    /** Optimizer steps completed. */
    public long step;
    public double wallSeconds;
    /** Sum and count of the batch losses accumulated since the last metrics row. */
    public double lossSum;
    public long lossCount;
    /** {@link IndexStream#state()} of the training batches and of the auxiliary batches. */
    public long[] batchStream;
    public long[] auxStream;
    public long rngSeed, rngOffset;
    public float[] params;
    /** Null in a parameters-only file. */
    public OptimizerState optimizerState;

    public boolean parametersOnly() { return optimizerState == null; }

    /** Writes atomically: {@code file}.tmp, then a move over {@code file}. */
    public void write(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            if (dir != null) Files.createDirectories(dir);
            try (OutputStream os = Files.newOutputStream(tmp);
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os, 1 << 16))) {
                writeTo(out);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
            throw new CheckpointException("cannot write checkpoint " + file + ": " + oneLine(e), e);
        }
    }

    private void writeTo(DataOutputStream out) throws IOException {
        out.writeUTF(MAGIC);
        out.writeInt(VERSION);
        out.writeUTF(modelSpec);
        out.writeUTF(likelihood);
        out.writeUTF(optimizerName);
        out.writeUTF(dataName);
        out.writeInt(batchSize);
        out.writeUTF(sampling);
        out.writeLong(step);
        out.writeDouble(wallSeconds);
        out.writeDouble(lossSum);
        out.writeLong(lossCount);
        writeLongs(out, batchStream);
        writeLongs(out, auxStream);
        out.writeLong(rngSeed);
        out.writeLong(rngOffset);
        out.writeInt(params.length);
        ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.BIG_ENDIAN);
        for (float f : params) {
            if (!bb.hasRemaining()) { out.write(bb.array(), 0, bb.position()); bb.clear(); }
            bb.putFloat(f);
        }
        out.write(bb.array(), 0, bb.position());
        out.writeBoolean(optimizerState != null);
        if (optimizerState != null) optimizerState.write(out);
    }

    private static void writeLongs(DataOutputStream out, long[] a) throws IOException {
        if (a == null) { out.writeInt(-1); return; }
        out.writeInt(a.length);
        for (long v : a) out.writeLong(v);
    }

    private static long[] readLongs(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) return null;
        if (n > 64) throw new IOException("implausible state length " + n);
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = in.readLong();
        return a;
    }

    /** Reads a checkpoint; a missing, truncated or foreign file gives a one-line {@link CheckpointException}. */
    public static Checkpoint read(Path file) {
        try (InputStream is = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(is, 1 << 16))) {
            String magic;
            try {
                magic = in.readUTF();
            } catch (IOException e) {
                throw new CheckpointException(file + " is not a FishLeg checkpoint (no header)");
            }
            if (!MAGIC.equals(magic)) throw new CheckpointException(file + " is not a FishLeg checkpoint (bad header)");
            int version = in.readInt();
            if (version < OLDEST_READABLE || version > VERSION)
                throw new CheckpointException(file + " is a version " + version + " checkpoint; this build reads versions "
                        + OLDEST_READABLE + " to " + VERSION);
            Checkpoint c = new Checkpoint();
            c.modelSpec = in.readUTF();
            c.likelihood = in.readUTF();
            c.optimizerName = in.readUTF();
            c.dataName = in.readUTF();
            c.batchSize = in.readInt();
            c.sampling = version >= 2 ? in.readUTF() : Sampling.SHUFFLE.cliName();
            c.step = in.readLong();
            c.wallSeconds = in.readDouble();
            c.lossSum = in.readDouble();
            c.lossCount = in.readLong();
            c.batchStream = readLongs(in);
            c.auxStream = readLongs(in);
            c.rngSeed = in.readLong();
            c.rngOffset = in.readLong();
            int n = in.readInt();
            if (n < 0) throw new IOException("negative parameter count " + n);
            byte[] raw = new byte[Math.multiplyExact(n, 4)];
            in.readFully(raw);
            c.params = new float[n];
            ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN).asFloatBuffer().get(c.params);
            if (in.readBoolean()) c.optimizerState = OptimizerState.read(in);
            return c;
        } catch (NoSuchFileException e) {
            throw new CheckpointException("checkpoint not found: " + file);
        } catch (EOFException e) {
            throw new CheckpointException("checkpoint " + file + " is truncated");
        } catch (IOException | ArithmeticException e) {
            throw new CheckpointException("cannot read checkpoint " + file + ": " + oneLine(e), e);
        }
    }

    /** A file-system error as a short phrase: "no such file or folder: /x", "permission denied: /y", ... */
    static String oneLine(Throwable e) {
        String s;
        if (e instanceof java.nio.file.NoSuchFileException) s = "no such file or folder: " + e.getMessage();
        else if (e instanceof java.nio.file.AccessDeniedException) s = "permission denied: " + e.getMessage();
        else if (e instanceof java.nio.file.FileAlreadyExistsException) s = "a file is in the way: " + e.getMessage();
        else if (e instanceof java.nio.file.NotDirectoryException) s = "not a folder: " + e.getMessage();
        else if (e instanceof java.nio.file.FileSystemException) {
            java.nio.file.FileSystemException f = (java.nio.file.FileSystemException) e;
            s = (f.getReason() != null ? f.getReason() : "file system error") + ": " + f.getFile();
        } else {
            String m = e.getMessage();
            s = m != null ? m : e.getClass().getSimpleName();
        }
        return s.replace('\n', ' ');
    }
}
