package org.fishleg.train;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.OptimizerState;

/**
 * Everything needed to continue a training run exactly: the model (spec, likelihood, flat parameters), the
 * optimizer's state, the step, the batch order and auxiliary sampler positions, the backend's random
 * stream position, elapsed wall time and the partly accumulated training loss of the current metrics row.
 *
 * <p>File format: safetensors ({@link SafeTensors}), readable by any safetensors reader (PyTorch, numpy,
 * Rust). Tensors, all little-endian:
 * <ul>
 * <li>{@code layerK.weight} F32 [in, out] and {@code layerK.bias} F32 [out] (absent for a layer without bias)
 *     of layer K (0-based), so that the layer computes a = h W + b with h of shape [batch, in]. (In memory
 *     the model keeps each layer as one (in + 1) x out block with the bias as row 0; the file splits it.)</li>
 * <li>{@code likelihood.sigma} F32 [1]: the learned Gaussian sigma (gaussian-learned), or
 *     {@code likelihood.log_sigma} F32 [1]: its logarithm, the trained parameter of gaussian-logsigma.</li>
 * <li>{@code optim.NAME} F32 [n]: each optimizer state array (momentum, Adam moments, FishLeg factors, ...).</li>
 * <li>{@code state.batch_stream}, {@code state.aux_stream} I64 [4]: {seed, epoch, position, n} of the training
 *     and auxiliary batch streams ({@link IndexStream#state()}); {@code state.rng} I64 [2]: {seed, offset} of
 *     the backend's Philox stream.</li>
 * </ul>
 * {@code __metadata__} (strings): {@code format} "fishleg-checkpoint", {@code format_version}, {@code model},
 * {@code likelihood}, {@code optimizer} (empty in a parameters-only file), {@code data}, {@code batch_size},
 * {@code sampling}, {@code step}, {@code wall_seconds}, {@code loss_sum}, {@code loss_count}, {@code contents}
 * ("full" or "parameters-only"), {@code optimizer_numbers} (a JSON object of the optimizer's step counts and
 * hyper-parameters, full files only), {@code layout} (the sentence above), {@code tensor_crc32c} (a JSON object
 * tensor name -> CRC32C of its bytes, 8 hex digits) and {@code metadata_crc32c} (CRC32C of
 * a canonical text of every tensor's name, dtype and shape and every other metadata entry).
 *
 * <p>{@link #read} checks everything before anything is used: the file's structure ({@link SafeTensors#read}),
 * both checksums, the required tensors with the shapes the model spec implies, finite values, and the ranges of
 * the numbers (step, loss count, wall time, optimizer step counts, stream positions and the batch stream's agreement
 * with the step, random offset); any problem
 * is one {@link CheckpointException} line. {@link #write} applies the same checks first (a checkpoint that would
 * not load is never written), then writes atomically and durably ({@link SafeTensors#write}).
 *
 * <p>A file without optimizer state ("parameters only") is written when a run diverges: it holds the last
 * parameters known to give finite losses. Checkpoints of the earlier binary format (magic "FISHLEG-CKPT") are
 * refused with a message saying so: that run must be restarted.
 */
public final class Checkpoint {
    static final String FORMAT = "fishleg-checkpoint";
    /** 1 and 2 were the earlier binary format; 3 is safetensors. */
    public static final int VERSION = 3;
    /** File name of the latest checkpoint inside --checkpoint-dir. */
    public static final String LATEST = "checkpoint.ckpt";
    /** File name of checkpoint number {@code step} when every checkpoint is kept. */
    static String stepFile(long step) { return "step-" + step + ".ckpt"; }

    /** File name of the parameters saved when a run diverges. */
    public static final String LAST_FINITE = "last-finite.ckpt";

    /** How the parameters are laid out in the file (also stored in the metadata as "layout"). */
    static final String LAYOUT = "layerK.weight [in, out] and layerK.bias [out] per layer K (a = h W + b, h [batch, in]);"
            + " likelihood.sigma [1] when sigma is learned (likelihood.log_sigma [1] when log sigma is)";

    /** The model's architecture, as {@link org.fishleg.nn.MlpSpec#toString()} writes it. */
    public String modelSpec;
    /** The likelihood, as {@link org.fishleg.nn.Likelihood#toString()} writes it. */
    public String likelihood;
    /** The optimizer's short name (empty in a file with no training behind it). */
    public String optimizerName;
    /** The training data set's name (empty when none). */
    public String dataName;
    /** Examples per training batch. */
    public int batchSize;
    /** {@link Sampling#cliName()} of the batch draws: the meaning of {@link #batchStream} and {@link #auxStream}. */
    public String sampling = Sampling.SHUFFLE.cliName();
    /** Optimizer steps completed. */
    public long step;
    double wallSeconds;
    /** Sum and count of the batch losses accumulated since the last metrics row. */
    double lossSum;
    long lossCount;
    /** {@link IndexStream#state()} of the training batches. */
    public long[] batchStream;
    /** {@link IndexStream#state()} of FishLeg's auxiliary batches. */
    public long[] auxStream;
    /** The backend's random seed ({@code Backend.seed()}). */
    public long rngSeed;
    /** The backend's random stream position ({@code Backend.rngOffset()}). */
    public long rngOffset;
    /** The model's flat parameter vector (layer blocks of (in + 1) x out, bias as row 0; a learned sigma last). */
    public float[] params;
    /** Null in a parameters-only file. */
    OptimizerState optimizerState;

    /**
     * Whether this is a parameters-only file (written when a run diverged), without optimizer state.
     * @return true when there is no optimizer state
     */
    public boolean parametersOnly() { return optimizerState == null; }

    /**
     * Checks, then writes atomically and durably (temporary file, fsync, rename, fsync of the folder).
     * @param file where to write; an existing file is replaced
     */
    public void write(Path file) {
        SafeTensors.Contents c;
        try {
            c = encode();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("refusing to write checkpoint " + file + ": " + e.getMessage(), e);
        }
        try {
            SafeTensors.write(c, file);
        } catch (IOException e) {
            throw new CheckpointException("cannot write checkpoint " + file + ": " + oneLine(e), e);
        }
    }

    /** The safetensors contents of this checkpoint, checksums included; checks the values first. */
    SafeTensors.Contents encode() {
        MlpSpec spec = spec(modelSpec);
        if (params == null) throw new IllegalArgumentException("no parameters");
        long expected = spec.paramCount() + (learnedSigma(likelihood) ? 1 : 0);
        if (params.length != expected)
            throw new IllegalArgumentException(params.length + " parameters, the model " + modelSpec + " (" + likelihood + ") has " + expected);
        SafeTensors.Contents c = new SafeTensors.Contents();
        int off = 0;
        List<MlpSpec.LayerSpec> layers = spec.layers();
        for (int k = 0; k < layers.size(); k++) {
            MlpSpec.LayerSpec l = layers.get(k);
            if (l.bias) {
                c.tensors.put("layer" + k + ".weight", SafeTensors.Entry.f32(Arrays.copyOfRange(params, off + l.out, off + l.paramCount()), l.in, l.out));
                c.tensors.put("layer" + k + ".bias", SafeTensors.Entry.f32(Arrays.copyOfRange(params, off, off + l.out), l.out));
            } else {
                c.tensors.put("layer" + k + ".weight", SafeTensors.Entry.f32(Arrays.copyOfRange(params, off, off + l.paramCount()), l.in, l.out));
            }
            off += l.paramCount();
        }
        if (off < params.length) c.tensors.put(sigmaName(likelihood), SafeTensors.Entry.f32(new float[] {params[off]}, 1));
        Map<String, Double> numbers = new TreeMap<>();
        if (optimizerState != null) {
            for (Map.Entry<String, float[]> e : optimizerState.arrays().entrySet())
                c.tensors.put("optim." + e.getKey(), SafeTensors.Entry.f32(e.getValue(), e.getValue().length));
            numbers.putAll(optimizerState.numbers());
        }
        c.tensors.put("state.batch_stream", SafeTensors.Entry.i64(nonNull(batchStream, "batch stream"), 4));
        c.tensors.put("state.aux_stream", SafeTensors.Entry.i64(nonNull(auxStream, "auxiliary stream"), 4));
        c.tensors.put("state.rng", SafeTensors.Entry.i64(new long[] {rngSeed, rngOffset}, 2));
        Map<String, String> m = c.metadata;
        m.put("format", FORMAT);
        m.put("format_version", Integer.toString(VERSION));
        m.put("model", modelSpec);
        m.put("likelihood", likelihood);
        m.put("optimizer", optimizerState == null ? "" : optimizerName);
        m.put("data", dataName);
        m.put("batch_size", Integer.toString(batchSize));
        m.put("sampling", sampling);
        m.put("step", Long.toString(step));
        m.put("wall_seconds", Double.toString(wallSeconds));
        m.put("loss_sum", Double.toString(lossSum));
        m.put("loss_count", Long.toString(lossCount));
        m.put("contents", optimizerState == null ? "parameters-only" : "full");
        if (optimizerState != null) {
            if (!optimizerState.optimizer().equals(optimizerName))
                throw new IllegalArgumentException("optimizer state of " + optimizerState.optimizer() + " in a checkpoint of " + optimizerName);
            StringBuilder s = new StringBuilder("{");
            for (Map.Entry<String, Double> e : numbers.entrySet()) {
                if (!Double.isFinite(e.getValue())) throw new IllegalArgumentException("optimizer number " + e.getKey() + " is " + e.getValue());
                if (s.length() > 1) s.append(',');
                SafeTensors.quote(s, e.getKey());
                double v = e.getValue();
                s.append(':').append(v == Math.rint(v) && Math.abs(v) < 0x1p53 ? Long.toString((long) v) : Double.toString(v));
            }
            m.put("optimizer_numbers", s.append('}').toString());
        }
        m.put("layout", LAYOUT);
        reseal(c);
        decode(c); // the checks a reader applies: what is written always loads
        return c;
    }

    private static long[] nonNull(long[] a, String what) {
        if (a == null || a.length != 4) throw new IllegalArgumentException("the " + what + " state must have 4 values");
        return a;
    }

    /**
     * The text {@code metadata_crc32c} is computed over: per tensor in name order "name dtype [shape]", then per
     * metadata entry other than metadata_crc32c, in key order, "key=value", each ending in a newline. Offsets are
     * left out: they are checked by the structure and the tensor checksums, and leaving them out lets a file
     * rewritten by another safetensors writer (which may order the tensors differently) still load.
     */
    static String describeForChecksum(SafeTensors.Contents c) {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, SafeTensors.Entry> t : new TreeMap<>(c.tensors).entrySet())
            s.append(t.getKey()).append(' ').append(t.getValue().dtype).append(' ')
                    .append(t.getValue().shapeText().replace(" ", "")).append('\n');
        for (Map.Entry<String, String> m : new TreeMap<>(c.metadata).entrySet())
            if (!m.getKey().equals("metadata_crc32c")) s.append(m.getKey()).append('=').append(m.getValue()).append('\n');
        return s.toString();
    }

    /** CRC32C as 8 lower-case hex digits. */
    static String crc32c(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, b.length);
        return String.format(Locale.ROOT, "%08x", c.getValue());
    }

    /**
     * Computes both checksums of {@code c} into its metadata (every checkpoint written is sealed this way;
     * tests use it to make files whose checksums agree but whose values are wrong).
     * @param c the contents to seal
     */
    public static void reseal(SafeTensors.Contents c) {
        StringBuilder crc = new StringBuilder("{");
        for (Map.Entry<String, SafeTensors.Entry> e : c.tensors.entrySet()) {
            if (crc.length() > 1) crc.append(',');
            SafeTensors.quote(crc, e.getKey());
            crc.append(':');
            SafeTensors.quote(crc, crc32c(e.getValue().data));
        }
        c.metadata.put("tensor_crc32c", crc.append('}').toString());
        c.metadata.put("metadata_crc32c", crc32c(describeForChecksum(c).getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Reads and checks a checkpoint; a missing, truncated, corrupted or foreign file, or one whose values are out
     * of range, gives a one-line {@link CheckpointException}.
     * @param file the checkpoint file
     * @return the checkpoint
     */
    public static Checkpoint read(Path file) {
        SafeTensors.Contents c;
        try {
            if (SafeTensors.isLegacyCheckpoint(file))
                throw new CheckpointException("checkpoint " + file + " is in the earlier binary format (FISHLEG-CKPT), which this "
                        + "version no longer reads (checkpoints are now safetensors files); restart the run without --resume");
            c = SafeTensors.read(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("checkpoint not found: " + file);
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoint " + file + ": " + oneLine(e), e);
        } catch (SafeTensors.Format e) {
            throw new CheckpointException("checkpoint " + file + " is damaged or not a checkpoint (not valid safetensors): "
                    + printable(e.getMessage()));
        }
        try {
            return decode(c);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + file + ": " + printable(e.getMessage()), e);
        }
    }

    /**
     * {@code s} with control characters written as a backslash, u and four hex digits: messages quote names, values and characters from the
     * file, and a newline among them would break the one-line error.
     */
    static String printable(String s) {
        if (s == null) return "";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            boolean control = ch < 0x20 || (ch >= 0x7f && ch < 0xa0) || ch == 0x2028 || ch == 0x2029;
            if (control && b == null) b = new StringBuilder(s.substring(0, i));
            if (b == null) continue;
            if (control) b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
            else b.append(ch);
        }
        return b == null ? s : b.toString();
    }

    /** Checks and decodes contents already structurally valid; IllegalArgumentException names the first problem. */
    static Checkpoint decode(SafeTensors.Contents c) {
        Map<String, String> m = c.metadata;
        if (!FORMAT.equals(m.get("format")))
            throw new IllegalArgumentException("not a FishLeg checkpoint (a safetensors file without format=" + FORMAT + " metadata)");
        if (!Integer.toString(VERSION).equals(m.get("format_version")))
            throw new IllegalArgumentException("format version " + m.get("format_version") + "; this build reads version " + VERSION);
        // checksums first: a corrupted file is reported as corrupted, not by the value that happens to look wrong
        String mc = need(m, "metadata_crc32c");
        String actual = crc32c(describeForChecksum(c).getBytes(StandardCharsets.UTF_8));
        if (!mc.equals(actual))
            throw new IllegalArgumentException("the header fails its checksum (metadata_crc32c " + mc + ", computed " + actual
                    + "): the file is corrupted");
        Map<String, Object> crcs = jsonObject(need(m, "tensor_crc32c"), "tensor_crc32c");
        for (String name : crcs.keySet())
            if (!c.tensors.containsKey(name)) throw new IllegalArgumentException("tensor_crc32c names a tensor '" + name + "' that is not in the file");
        for (Map.Entry<String, SafeTensors.Entry> e : c.tensors.entrySet()) {
            Object want = crcs.get(e.getKey());
            if (!(want instanceof String)) throw new IllegalArgumentException("tensor '" + e.getKey() + "' has no checksum");
            String got = crc32c(e.getValue().data);
            if (!want.equals(got))
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' fails its checksum (CRC32C " + want + " recorded, "
                        + got + " computed): the file is corrupted");
        }
        // the writer never puts control characters in names or metadata; refusing them keeps every later message
        // (here and in Trainer.restore, which quotes the model spec and names) one line
        for (Map.Entry<String, String> e : m.entrySet())
            if (!printable(e.getValue()).equals(e.getValue()) || !printable(e.getKey()).equals(e.getKey()))
                throw new IllegalArgumentException("metadata '" + e.getKey() + "' holds a control character");
        for (String name : c.tensors.keySet())
            if (!printable(name).equals(name)) throw new IllegalArgumentException("tensor name '" + name + "' holds a control character");
        Checkpoint k = new Checkpoint();
        k.modelSpec = need(m, "model");
        k.likelihood = need(m, "likelihood");
        k.optimizerName = need(m, "optimizer");
        k.dataName = need(m, "data");
        k.sampling = need(m, "sampling");
        try {
            Sampling.parse(k.sampling);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown sampling '" + k.sampling + "'");
        }
        long bs = integer(m, "batch_size");
        if (bs < 1 || bs > Integer.MAX_VALUE) throw new IllegalArgumentException("batch_size " + bs + " is out of range");
        k.batchSize = (int) bs;
        k.step = integer(m, "step");
        if (k.step < 0) throw new IllegalArgumentException("step " + k.step + " is negative");
        k.wallSeconds = real(m, "wall_seconds");
        if (!(k.wallSeconds >= 0)) throw new IllegalArgumentException("wall_seconds " + k.wallSeconds + " is negative");
        k.lossSum = real(m, "loss_sum");
        k.lossCount = integer(m, "loss_count");
        if (k.lossCount < 0) throw new IllegalArgumentException("loss_count " + k.lossCount + " is negative");
        if (k.lossCount > k.step)
            throw new IllegalArgumentException("loss_count " + k.lossCount + " exceeds the " + k.step + " steps taken");
        if (k.lossCount == 0 && k.lossSum != 0)
            throw new IllegalArgumentException("loss_sum " + k.lossSum + " with loss_count 0");
        String contents = need(m, "contents");
        boolean full;
        if (contents.equals("full")) full = true;
        else if (contents.equals("parameters-only")) full = false;
        else throw new IllegalArgumentException("contents '" + contents + "' is neither full nor parameters-only");

        // parameters: the tensors the model spec implies, with their shapes, all finite
        MlpSpec spec = spec(k.modelSpec);
        boolean sigma = learnedSigma(k.likelihood);
        long count = spec.paramCount() + (sigma ? 1 : 0);
        // the spec is text in the header: check the floats it implies against the floats in the file before allocating
        long floatsInFile = 0;
        for (SafeTensors.Entry e : c.tensors.values()) if (e.dtype.equals("F32")) floatsInFile += e.data.length / 4;
        if (count > floatsInFile)
            throw new IllegalArgumentException("model '" + k.modelSpec + "' has " + count + " parameters but the file holds only "
                    + floatsInFile + " F32 values");
        float[] p = new float[(int) count];
        java.util.Set<String> used = new java.util.HashSet<>();
        int off = 0;
        List<MlpSpec.LayerSpec> layers = spec.layers();
        for (int i = 0; i < layers.size(); i++) {
            MlpSpec.LayerSpec l = layers.get(i);
            if (l.bias) {
                System.arraycopy(f32(c, "layer" + i + ".bias", used, l.out), 0, p, off, l.out);
                System.arraycopy(f32(c, "layer" + i + ".weight", used, l.in, l.out), 0, p, off + l.out, l.in * l.out);
            } else {
                System.arraycopy(f32(c, "layer" + i + ".weight", used, l.in, l.out), 0, p, off, l.in * l.out);
            }
            off += l.paramCount();
        }
        if (sigma) {
            String name = sigmaName(k.likelihood);
            float s = f32(c, name, used, 1)[0];
            // sigma itself must be positive; its log (gaussian-logsigma) any finite number (finiteness checked by f32)
            if (name.equals("likelihood.sigma") && !(s > 0)) throw new IllegalArgumentException("likelihood.sigma " + s + " is not positive");
            p[off] = s;
        }
        k.params = p;

        long[] bst = i64(c, "state.batch_stream", used, 4), ast = i64(c, "state.aux_stream", used, 4), rng = i64(c, "state.rng", used, 2);
        checkStream(bst, "state.batch_stream");
        checkStream(ast, "state.aux_stream");
        if (bst[3] < k.batchSize)
            throw new IllegalArgumentException("state.batch_stream is over " + bst[3] + " examples, fewer than the batch size " + k.batchSize);
        long bpe = bst[3] / k.batchSize; // the trainer takes one batch per step, an epoch ends after its last full batch
        if (bst[1] != k.step / bpe || bst[2] != (k.step % bpe) * k.batchSize)
            throw new IllegalArgumentException("state.batch_stream (epoch " + bst[1] + ", position " + bst[2] + ") does not match step "
                    + k.step + " with batches of " + k.batchSize + " from " + bst[3] + " examples");
        if (ast[3] != bst[3])
            throw new IllegalArgumentException("state.aux_stream is over " + ast[3] + " examples, state.batch_stream over " + bst[3]);
        k.batchStream = bst;
        k.auxStream = ast;
        k.rngSeed = rng[0];
        k.rngOffset = rng[1];
        if (k.rngOffset < 0) throw new IllegalArgumentException("state.rng offset " + k.rngOffset + " is negative");

        if (full) {
            if (k.optimizerName.isEmpty()) throw new IllegalArgumentException("a full checkpoint without an optimizer name");
            OptimizerState s = new OptimizerState(k.optimizerName);
            Map<String, Object> nums = jsonObject(need(m, "optimizer_numbers"), "optimizer_numbers");
            for (Map.Entry<String, Object> e : nums.entrySet()) {
                Object v = e.getValue();
                double d;
                if (v instanceof BigInteger) d = ((BigInteger) v).doubleValue();
                else if (v instanceof Double) d = (Double) v;
                else throw new IllegalArgumentException("optimizer number " + e.getKey() + " is not a number");
                if (!Double.isFinite(d)) throw new IllegalArgumentException("optimizer number " + e.getKey() + " is " + d);
                String n = e.getKey();
                if (n.equals("step") || n.endsWith("steps")) {
                    if (d < 0 || d != Math.rint(d) || d > 0x1p53)
                        throw new IllegalArgumentException("optimizer " + n + " " + v + " is not a step count");
                    if (n.equals("step") && d > k.step)
                        throw new IllegalArgumentException("optimizer step " + v + " exceeds the " + k.step + " training steps");
                }
                if (n.equals("size") && d != count)
                    throw new IllegalArgumentException("optimizer state is for " + v + " parameters, the model has " + count);
                s.put(n, d);
            }
            for (Map.Entry<String, SafeTensors.Entry> e : c.tensors.entrySet()) {
                if (!e.getKey().startsWith("optim.")) continue;
                SafeTensors.Entry t = e.getValue();
                if (!t.dtype.equals("F32") || t.shape.length != 1)
                    throw new IllegalArgumentException("tensor '" + e.getKey() + "' is " + t.dtype + " " + t.shapeText() + ", expected F32 [n]");
                float[] a = t.floats();
                checkFinite(a, e.getKey());
                s.put(e.getKey().substring("optim.".length()), a);
                used.add(e.getKey());
            }
            k.optimizerState = s;
        } else if (m.containsKey("optimizer_numbers") || !k.optimizerName.isEmpty()) {
            throw new IllegalArgumentException("a parameters-only checkpoint with optimizer state");
        }
        for (String name : c.tensors.keySet())
            if (!used.contains(name)) throw new IllegalArgumentException("unexpected tensor '" + name + "'");
        return k;
    }

    private static void checkStream(long[] s, String name) {
        if (s[3] < 1 || s[3] > Integer.MAX_VALUE) throw new IllegalArgumentException(name + " is over " + s[3] + " examples");
        if (s[1] < 0) throw new IllegalArgumentException(name + " epoch " + s[1] + " is negative");
        if (s[2] < 0 || s[2] > s[3])
            throw new IllegalArgumentException(name + " position " + s[2] + " is outside 0.." + s[3]);
    }

    private static float[] f32(SafeTensors.Contents c, String name, java.util.Set<String> used, long... shape) {
        SafeTensors.Entry e = c.tensors.get(name);
        if (e == null) throw new IllegalArgumentException("tensor '" + name + "' is missing");
        if (!e.dtype.equals("F32") || !Arrays.equals(e.shape, shape))
            throw new IllegalArgumentException("tensor '" + name + "' is " + e.dtype + " " + e.shapeText() + ", expected F32 "
                    + Arrays.toString(shape));
        float[] v = e.floats();
        checkFinite(v, name);
        used.add(name);
        return v;
    }

    private static long[] i64(SafeTensors.Contents c, String name, java.util.Set<String> used, long n) {
        SafeTensors.Entry e = c.tensors.get(name);
        if (e == null) throw new IllegalArgumentException("tensor '" + name + "' is missing");
        if (!e.dtype.equals("I64") || e.shape.length != 1 || e.shape[0] != n)
            throw new IllegalArgumentException("tensor '" + name + "' is " + e.dtype + " " + e.shapeText() + ", expected I64 [" + n + "]");
        used.add(name);
        return e.longs();
    }

    private static void checkFinite(float[] v, String name) {
        for (int i = 0; i < v.length; i++)
            if (!Float.isFinite(v[i]))
                throw new IllegalArgumentException("tensor '" + name + "' holds " + v[i] + " at element " + i + " (values must be finite)");
    }

    private static String need(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) throw new IllegalArgumentException("metadata '" + key + "' is missing");
        return v;
    }

    private static long integer(Map<String, String> m, String key) {
        String v = need(m, key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata " + key + " '" + v + "' is not an integer");
        }
    }

    private static double real(Map<String, String> m, String key) {
        String v = need(m, key);
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata " + key + " '" + v + "' is not a number");
        }
        if (!Double.isFinite(d)) throw new IllegalArgumentException("metadata " + key + " is " + v + " (must be finite)");
        return d;
    }

    private static Map<String, Object> jsonObject(String text, String key) {
        Object o;
        try {
            o = new SafeTensors.Json(text).parseDocument();
        } catch (SafeTensors.Format e) {
            throw new IllegalArgumentException("metadata " + key + ": " + e.getMessage());
        }
        if (!(o instanceof Map)) throw new IllegalArgumentException("metadata " + key + " is not a JSON object");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) o;
        return m;
    }

    private static MlpSpec spec(String text) {
        if (text == null) throw new IllegalArgumentException("no model spec");
        try {
            return MlpSpec.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model spec '" + text + "': " + e.getMessage());
        }
    }

    /** True for a likelihood (as {@code Likelihood.toString()} writes it) whose sigma is a parameter. */
    private static boolean learnedSigma(String likelihood) {
        return likelihood != null && (likelihood.startsWith("gaussian-learned") || likelihood.startsWith("gaussian-logsigma"));
    }

    /** The tensor holding the learned sigma: likelihood.sigma, or likelihood.log_sigma when the parameter is log sigma. */
    private static String sigmaName(String likelihood) {
        return likelihood != null && likelihood.startsWith("gaussian-logsigma") ? "likelihood.log_sigma" : "likelihood.sigma";
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
