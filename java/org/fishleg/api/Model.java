package org.fishleg.api;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Dataset;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.nn.Models;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerFactory;
import org.fishleg.train.Checkpoint;
import org.fishleg.train.CheckpointException;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.IndexStream;
import org.fishleg.train.Sampling;
import org.fishleg.train.TrainResult;
import org.fishleg.train.Trainer;
import org.fishleg.train.TrainerConfig;
import org.fishleg.train.TrainingProgress;

/**
 * A trainable MLP with its likelihood on a backend: the facade of the library.
 *
 * <pre>{@code
 * try (Model model = Model.builder().input(784).dense(256).dense(10).softmax().build()) {
 *     History h = model.fit(Adam.builder().build(), mnist.train(), mnist.test(),
 *             FitOptions.epochs(3).evaluators(Evaluator.loss(), Evaluator.accuracy()));
 *     float[][] p = model.predict(mnist.test());   // class probabilities
 *     model.save(Path.of("classifier.safetensors"));
 * }
 * }</pre>
 *
 * <p>{@link #fit} trains with {@link Trainer} (batches gathered on the backend, graph replay on CUDA, FishLeg's
 * auxiliary batches drawn from the training set: callers never build them). The model keeps the training state of
 * its last fit (optimizer state, batch order, random state); {@link #save} writes it with the parameters into one
 * safetensors checkpoint (the format of {@code fishleg train --checkpoint-dir}), and a later {@link #fit} with the
 * same optimizer, training set, batch size and sampling continues it exactly, also after {@link #load}. A fit with
 * anything else starts a fresh optimizer from the current parameters.
 *
 * <p>{@link #predict} and {@link #evaluate} run in chunks of {@value #CHUNK} rows and free the work buffers they
 * allocated when they return, so a large data set costs no more backend memory than a chunk. Not thread-safe.
 */
public final class Model implements AutoCloseable {
    /** Rows per chunk of {@link #predict} and {@link #evaluate}. */
    public static final int CHUNK = 1000;

    private final Backend backend;
    private final boolean ownsBackend;
    private final Mlp mlp;
    private final String name;
    /** The state after the last fit or the loaded checkpoint (full files only), or null. */
    private Checkpoint trainingState;
    private boolean closed;

    private Model(Backend backend, boolean ownsBackend, Mlp mlp, String name) {
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.mlp = mlp;
        this.name = name;
    }

    /**
     * A builder: {@code Model.builder().input(784).dense(256).dense(10).softmax().build()}.
     * @return an empty builder
     */
    public static ModelBuilder builder() { return new ModelBuilder(); }

    /**
     * A named model of {@link Models} ("mnist-ae", "curves-ae", "faces-ae", "dln") on the "auto" backend, seed 1.
     * @param modelName one of the names of {@link Models}
     * @return the model, with freshly initialised weights
     */
    public static Model named(String modelName) { return builder().named(modelName).build(); }

    static Model create(MlpSpec spec, Likelihood lik, String name, Backend given, String backendName, long seed) {
        Backend b = given != null ? given : Backends.open(backendName, line -> {});
        Mlp m = null;
        try {
            m = new Mlp(b, spec, lik);
            m.init(seed);
            return new Model(b, given == null, m, name);
        } catch (RuntimeException e) {
            if (m != null) m.close();
            if (given == null) b.close();
            throw e;
        }
    }

    /**
     * The architecture.
     * @return the layer widths, activations and biases
     */
    public MlpSpec spec() { return mlp.spec(); }
    /**
     * The likelihood (the loss is its negative log).
     * @return the likelihood
     */
    public Likelihood likelihood() { return mlp.likelihood(); }
    /**
     * The named model this is ({@link Models}), or null.
     * @return the name, or null
     */
    public String name() { return name; }
    /**
     * Trainable parameters.
     * @return the number of trainable scalars
     */
    public int paramCount() { return mlp.paramCount(); }
    /**
     * The backend the parameters live on.
     * @return the backend
     */
    public Backend backend() { return backend; }
    /**
     * The underlying network, for what the facade does not cover (its buffers belong to this model).
     * @return the network
     */
    public Mlp mlp() { return mlp; }
    /**
     * Optimizer steps taken in total (0 for a new model; continued across fits, save and load).
     * @return the total number of steps
     */
    public long steps() { return trainingState == null ? 0 : trainingState.step; }

    private void checkOpen() { if (closed) throw new IllegalStateException("the model is closed"); }

    // ------------------------------------------------------------------ training

    /**
     * Trains for {@link FitOptions#epochs()} epochs on {@code train} with the optimizer {@code optimizer} makes
     * (e.g. {@code Adam.builder().lr(1e-3f).build()}, {@code FishLeg.builder().preset("mnist-ae").build()},
     * {@code Recipes.adam("mnist-ae")}); after each epoch evaluates {@code test} (may be null) with the options'
     * evaluators. Continues the last training when it is compatible (class comment). The data sets need targets
     * of the model's output width; their host arrays are uploaded for the fit and freed after.
     * @param optimizer the optimizer to train with, bound to this model at the start of the fit
     * @param train the training set
     * @param test the test set evaluated after each epoch, or null
     * @param options epochs, batch size, seed, sampling, evaluators and listener
     * @return the training loss and test metrics of every epoch, and whether the fit diverged
     */
    public History fit(OptimizerFactory optimizer, Dataset train, Dataset test, FitOptions options) {
        checkOpen();
        if (optimizer == null || train == null || options == null) throw new IllegalArgumentException("optimizer, train and options are required");
        checkData(train, "training");
        if (test != null) checkData(test, "test");
        int batch = options.batchSizeFor(train.n());
        Sampling sampling = options.sampling();
        Checkpoint resume = continues(optimizer, train, batch, sampling) ? trainingState : null;
        long start = resume != null ? resume.step : 0;
        History history = new History(start);
        try (DeviceDataset dtrain = DeviceDataset.upload(backend, train);
             DeviceDataset dtest = test == null ? null : DeviceDataset.upload(backend, test)) {
            if (batch > train.n())
                throw new IllegalArgumentException("batch size " + batch + " exceeds the " + train.n() + " training examples of " + train.name());
            int bpe = new IndexStream(train.n(), options.seed(), sampling).batchesPerEpoch(batch);
            TrainerConfig cfg = TrainerConfig.builder().batchSize(batch).sampling(sampling).seed(options.seed())
                    .steps(start + (long) options.epochs() * bpe).logEvery(Integer.MAX_VALUE).evalEveryEpochs(0)
                    .evalAtStart(false).evalBatchSize(CHUNK).resumeState(resume)
                    .lrSchedule(options.lrSchedule()).lrScheduleFrom(start)
                    .divergenceFactor(options.divergenceFactor()).build();
            List<Evaluator> evaluators = options.evaluators();
            FitListener listener = options.listener();
            TrainingProgress progress = new TrainingProgress() {
                @Override public void logged(long step, double trainLoss) {
                    Map<String, Double> values = dtest == null || evaluators.isEmpty() ? Map.of()
                            : evaluate(test, dtest, evaluators);
                    History.Epoch e = new History.Epoch((int) ((step + bpe - 1) / bpe), step, trainLoss, values);
                    history.add(e);
                    if (listener != null) listener.onEpoch(e);
                }
            };
            try (Trainer trainer = new Trainer(mlp, dtrain, null, cfg, progress);
                 Optimizer opt = optimizer.create(mlp, trainer.auxSource())) {
                TrainResult r = trainer.run(opt);
                history.finish(r.steps, r.diverged, r.message);
                trainingState = r.diverged ? null : trainer.state(opt);
            }
        }
        return history;
    }

    private boolean continues(OptimizerFactory optimizer, Dataset train, int batch, Sampling sampling) {
        Checkpoint s = trainingState;
        return s != null && !s.parametersOnly() && s.optimizerName.equals(optimizer.name()) && s.dataName.equals(train.name())
                && s.batchSize == batch && s.sampling.equals(sampling.cliName()) && s.batchStream[3] == train.n();
    }

    private void checkData(Dataset d, String what) {
        if (d.d() != spec().inputSize())
            throw new IllegalArgumentException("the " + what + " data " + d.name() + " has " + d.d() + " inputs per example; the model "
                    + spec() + " takes " + spec().inputSize());
        if (!d.hasTargets()) throw new IllegalArgumentException("the " + what + " data " + d.name() + " has no targets");
        if (d.k() != spec().outputSize())
            throw new IllegalArgumentException("the " + what + " data " + d.name() + " has " + d.k() + " targets per example; the model "
                    + spec() + " outputs " + spec().outputSize()
                    + (likelihood().kind == LikelihoodKind.SOFTMAX && d.hasLabels() ? " (one-hot targets: Dataset.withOneHotTargets)" : ""));
        if (d.n() == 0) throw new IllegalArgumentException("the " + what + " data " + d.name() + " is empty");
    }

    // ------------------------------------------------------------------ evaluation and prediction

    /**
     * Each evaluator's value over {@code data} (which needs targets), by {@link Evaluator#name()}, in the order given.
     * @param data the data set, with targets
     * @param evaluators the metrics, at least one
     * @return each metric's value by name
     */
    public Map<String, Double> evaluate(Dataset data, Evaluator... evaluators) {
        checkOpen();
        checkData(data, "evaluation");
        if (evaluators.length == 0) throw new IllegalArgumentException("no evaluator given (e.g. Evaluator.loss(), Evaluator.accuracy())");
        return evaluate(data, null, List.of(evaluators));
    }

    /** Runs the evaluators over host data (chunks uploaded one at a time) or its copy on the backend. */
    private Map<String, Double> evaluate(Dataset host, DeviceDataset dev, List<Evaluator> evaluators) {
        List<Evaluator.Accumulator> accs = new ArrayList<>();
        boolean needLoss = false;
        for (Evaluator e : evaluators) {
            accs.add(e.newAccumulator());
            needLoss |= e.needsLoss();
        }
        int n = host.n(), k = host.k(), d = host.d();
        int c = Math.min(CHUNK, n);
        Set<Integer> before = mlp.workspaceSizes();
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor loss = own(owned, 1, 1);
            Tensor xs = dev == null ? own(owned, c, d) : null;
            Tensor ys = dev == null && !host.targetsAreInputs() ? own(owned, c, k) : xs;
            FloatBuffer xb = host.xBuffer(), yb = host.yBuffer();
            for (int a = 0; a < n; a += c) {
                int r = Math.min(n, a + c) - a;
                Tensor x, y;
                if (dev != null) {
                    x = dev.x().rowRange(a, a + r);
                    y = dev.y().rowRange(a, a + r);
                } else {
                    x = r == c ? xs : xs.rowRange(0, r);
                    backend.upload(slice(xb, a, r, d), x);
                    y = ys == xs ? x : r == c ? ys : ys.rowRange(0, r);
                    if (y != x) backend.upload(slice(yb, a, r, k), y);
                }
                double meanLoss = Double.NaN;
                if (needLoss) {
                    mlp.loss(x, y, loss);
                    meanLoss = backend.readScalar(loss);
                } else {
                    mlp.forward(x);
                }
                float[] out = backend.download(mlp.workspace(r).output());
                int[] labels = null;
                if (host.hasLabels()) {
                    labels = new int[r];
                    for (int i = 0; i < r; i++) labels[i] = host.label(a + i);
                }
                Evaluator.Chunk chunk = new Evaluator.Chunk(r, k, out, slice(yb, a, r, k), labels, meanLoss);
                for (Evaluator.Accumulator acc : accs) acc.add(chunk);
            }
        } finally {
            for (Tensor t : owned) t.close();
            release(before);
        }
        Map<String, Double> result = new LinkedHashMap<>();
        for (int i = 0; i < evaluators.size(); i++) result.put(evaluators.get(i).name(), accs.get(i).result());
        return result;
    }

    private Tensor own(List<Tensor> owned, int r, int c) {
        Tensor t = backend.zeros(r, c);
        owned.add(t);
        return t;
    }

    private static float[] slice(FloatBuffer b, int row, int rows, int width) {
        float[] out = new float[rows * width];
        b.position(row * width);
        b.get(out);
        return out;
    }

    /** Frees the work buffers created since {@code before} (the training batch sizes stay). */
    private void release(Set<Integer> before) {
        for (int size : mlp.workspaceSizes()) if (!before.contains(size)) mlp.releaseWorkspace(size);
    }

    /**
     * The model's predictions for every example of {@code data} (targets not needed), n rows of the output width:
     * class probabilities for softmax, p(y = 1) per output for Bernoulli, the mean for a Gaussian.
     * @param data the inputs
     * @return one row of outputs per example
     */
    public float[][] predict(Dataset data) {
        checkOpen();
        if (data.d() != spec().inputSize())
            throw new IllegalArgumentException("data " + data.name() + " has " + data.d() + " inputs per example; the model takes " + spec().inputSize());
        return predict(data.xBuffer(), data.n());
    }

    /**
     * {@link #predict(Dataset)} for rows of inputs given as arrays (each of the model's input width).
     * @param x the inputs, one array per example
     * @return one row of outputs per example
     */
    public float[][] predict(float[][] x) {
        checkOpen();
        int d = spec().inputSize();
        float[] flat = new float[Math.multiplyExact(x.length, d)];
        for (int i = 0; i < x.length; i++) {
            if (x[i].length != d) throw new IllegalArgumentException("row " + i + " has " + x[i].length + " inputs; the model takes " + d);
            System.arraycopy(x[i], 0, flat, i * d, d);
        }
        return predict(FloatBuffer.wrap(flat), x.length);
    }

    /**
     * The arg-max class of each example of {@code data} (for width 1: p &gt; 1/2).
     * @param data the inputs
     * @return one class per example
     */
    public int[] predictClasses(Dataset data) {
        float[][] p = predict(data);
        int[] out = new int[p.length];
        for (int i = 0; i < p.length; i++) out[i] = Evaluator.Chunk.argmax(p[i], 0, p[i].length, 0.5f);
        return out;
    }

    private float[][] predict(FloatBuffer xb, int n) {
        int d = spec().inputSize(), k = spec().outputSize();
        float[][] result = new float[n][];
        if (n == 0) return result;
        int c = Math.min(CHUNK, n);
        Set<Integer> before = mlp.workspaceSizes();
        try (Tensor xs = backend.zeros(c, d)) {
            for (int a = 0; a < n; a += c) {
                int r = Math.min(n, a + c) - a;
                Tensor x = r == c ? xs : xs.rowRange(0, r);
                backend.upload(slice(xb, a, r, d), x);
                float[] f = backend.download(mlp.forward(x)); // a view into the work buffers: copied out here
                for (int i = 0; i < r; i++) result[a + i] = transform(f, i, k);
            }
        } finally {
            release(before);
        }
        return result;
    }

    /** Row i of the outputs as the likelihood's prediction. */
    private float[] transform(float[] f, int i, int k) {
        float[] row = java.util.Arrays.copyOfRange(f, i * k, i * k + k);
        switch (likelihood().kind) {
            case SOFTMAX: {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (float v : row) max = Math.max(max, v);
                double[] e = new double[k];
                for (int j = 0; j < k; j++) sum += e[j] = Math.exp(row[j] - max);
                for (int j = 0; j < k; j++) row[j] = (float) (e[j] / sum);
                return row;
            }
            case BERNOULLI:
                for (int j = 0; j < k; j++) row[j] = (float) (1 / (1 + Math.exp(-row[j])));
                return row;
            default:
                return row;
        }
    }

    // ------------------------------------------------------------------ save and load

    /**
     * Writes the model to {@code file} as a safetensors checkpoint (atomically): parameters as {@code layerK.weight}
     * [in, out] and {@code layerK.bias}, the spec and likelihood in the metadata, and after a fit the optimizer
     * state, batch order and random state (README, "Checkpoints"), so {@link #load} and a {@link #fit} with the same
     * settings continue exactly. Throws {@link CheckpointException} when the file cannot be written.
     * @param file where to write; an existing file is replaced
     */
    public void save(Path file) {
        checkOpen();
        Checkpoint c = trainingState;
        if (c == null) {
            c = new Checkpoint();
            c.modelSpec = spec().toString();
            c.likelihood = likelihood().toString();
            c.optimizerName = "";
            c.dataName = "";
            c.batchSize = 1;
            c.step = 0;
            c.batchStream = new long[] {0, 0, 0, 1};
            c.auxStream = new long[] {0, 0, 0, 1};
            c.rngSeed = backend.seed();
            c.rngOffset = backend.rngOffset();
        }
        c.params = backend.download(mlp.params());
        c.write(file);
    }

    /**
     * {@link #load(Path, String)} on the "auto" backend.
     * @param file a checkpoint written by {@link #save}
     * @return the model, on the "auto" backend
     */
    public static Model load(Path file) { return load(file, "auto"); }

    /**
     * A model read from a file {@link #save} wrote (or a {@code fishleg train} checkpoint), on the named backend
     * ("auto", "cpu", "cuda"). The file is checked in full first ({@link Checkpoint#read}); a learned Gaussian
     * sigma gets the default bounds [1e-4, 1] (widened to hold its initial value), which the file does not record.
     * @param file a checkpoint written by {@link #save}
     * @param backendName "auto", "cpu" or "cuda"
     * @return the model, which owns its backend
     */
    public static Model load(Path file, String backendName) {
        Checkpoint c = Checkpoint.read(file);
        MlpSpec spec = MlpSpec.parse(c.modelSpec);
        Likelihood lik = likelihoodOf(c.likelihood, file);
        String name = null;
        for (Models.Named n : Models.all().values())
            if (n.spec.equals(spec) && n.likelihood.toString().equals(c.likelihood)) name = n.name;
        Model m = create(spec, lik, name, null, backendName, 1);
        try {
            if (c.params.length != m.paramCount())
                throw new CheckpointException("checkpoint " + file + " holds " + c.params.length + " parameters, the model " + spec + " has " + m.paramCount());
            m.backend.upload(c.params, m.mlp.params());
            m.trainingState = c.parametersOnly() ? null : c;
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The likelihood from its {@link Likelihood#toString()} form as checkpoints store it. */
    static Likelihood likelihoodOf(String text, Path file) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (String kind : new String[] {"gaussian-learned", "gaussian-logsigma"}) {
            if (!t.startsWith(kind)) continue;
            float init = 0.1f;
            int i = t.indexOf("init ");
            if (i >= 0) {
                try {
                    init = Float.parseFloat(t.substring(i + 5).replace(")", "").trim());
                } catch (NumberFormatException e) {
                    throw new CheckpointException("checkpoint " + file + ": likelihood '" + text + "' has no readable initial sigma");
                }
            }
            float min = Math.min(1e-4f, init), max = Math.max(1f, init);
            return kind.equals("gaussian-learned") ? Likelihood.gaussianLearned(init, min, max) : Likelihood.gaussianLogSigma(init, min, max);
        }
        try {
            return Likelihood.parse(t);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + file + ": " + e.getMessage());
        }
    }

    /** Frees the parameters, the training state and the backend (when the model opened it). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        trainingState = null;
        mlp.close();
        if (ownsBackend) backend.close();
    }

    @Override
    public String toString() {
        return (name != null ? name + " " : "") + spec() + ", " + likelihood() + String.format(Locale.ROOT, " (%,d parameters)", paramCount());
    }
}
