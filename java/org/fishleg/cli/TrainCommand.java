package org.fishleg.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.data.Splits;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.Recipes;
import org.fishleg.nn.WeightInit;
import org.fishleg.optim.SgdMomentum;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.plot.LossPlot;
import org.fishleg.train.Checkpoint;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.LrSchedule;
import org.fishleg.train.MetricsWriter;
import org.fishleg.train.Sampling;
import org.fishleg.train.TrainResult;
import org.fishleg.train.TrainerConfig;
import org.fishleg.train.TrainingProgress;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fishleg train}: trains a model, writes a metrics CSV, checkpoints and an optional plot. */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 110, sortOptions = false,
        description = {"Train a model on a data set with one optimizer; the training set and test set live on the "
                + "backend, mini-batches are gathered there, and the loss is read back only every --log-every steps.",
                "",
                "Writes a metrics CSV (step,epoch,wall_seconds,train_loss,test_loss: train_loss is the mean of the batch "
                + "losses since the previous row, test_loss the mean NLL over the full test set on evaluation rows; for a "
                + "Gaussian likelihood two more columns, train_mse,test_mse: the mean over examples of ||f(x) - y||^2 over the "
                + "full training and test set, on evaluation rows only).",
                "Baseline defaults are the FishLeg authors': momentum lr 0.03 (EMA form, mu 0.9), Adam lr 1e-4 with "
                + "betas (0.9, 0.9) and eps 1e-4 on MNIST; Adam 3e-5 on FACES; deep linear: momentum 2e-3, Adam 2e-4.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  ./fishleg train --model mnist-ae --optimizer adam --steps 300 --metrics /tmp/a.csv",
                "  ./fishleg train --optimizer fishleg --fishleg-preset ocaml-mnist --epochs 5 --plot loss.png",
                "  ./fishleg train --model 784-512-10 --likelihood softmax --data mnist-labels --optimizer adamw --lr 1e-3",
                "  ./fishleg train --model dln --steps 2000 --sampling full --metrics dln.csv",
                "  ./fishleg train --steps 6000 --checkpoint-dir ck --checkpoint-every 1000 --metrics m.csv",
                "  ./fishleg train --steps 12000 --resume ck/checkpoint.ckpt --metrics m.csv"})
final class TrainCommand implements Callable<Integer>, Main.Streams {

    private PrintStream out = System.out, err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

    // ---------------------------------------------------------------- model and data
    @Option(names = "--model", paramLabel = "NAME|SPEC", defaultValue = "mnist-ae",
            description = "Named model (mnist-ae, curves-ae, faces-ae, dln) or a spec such as "
                    + "784-1000-500-250-30:linear-250-500-1000-784:linear (widths, ':activation' = linear|relu|sigmoid|tanh|softplus "
                    + "of the layer producing that width, default relu for hidden layers and linear for the output, "
                    + "so 784-256-10 outputs logits; bernoulli and softmax refuse a non-linear output; '/nobias' drops biases). "
                    + "Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--likelihood", paramLabel = "KIND",
            description = "bernoulli | softmax | gaussian | gaussian:SIGMA | gaussian-learned | gaussian-logsigma (learned, trained "
                    + "as log sigma). Default: the named model's "
                    + "(mnist-ae, curves-ae: bernoulli; faces-ae: gaussian:1; dln: gaussian-learned), bernoulli for a spec.")
    String likelihood;

    @Option(names = "--data", paramLabel = "NAME",
            description = "mnist | mnist-labels (one-hot digit classes, for softmax models) | curves | faces | dln. Default: "
                    + "from the model (mnist-ae: mnist, curves-ae: curves, faces-ae: faces, dln: dln; a 784-...-784 spec: mnist).")
    String data;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "MNIST: the folder with the four IDX files (default $FISHLEG_DATA/mnist, else <repository>/data/mnist); "
                    + "faces: olivettifaces.mat or its folder (default $FISHLEG_OLIVETTI, else ../shared/datasets/olivetti/).")
    Path dataDir;

    // ---------------------------------------------------------------- optimizer
    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "fishleg",
            description = "sgd | momentum | adam | adamw | fishleg | fishleg-qg (the preset with u = current gradient, momentum "
                    + "on Q g, decay outside Q, low-rank Q g) | fishleg-g (the preset with momentum on the gradient, JAX ordering) | kfac (KFAC: see the KFAC options). "
                    + "Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--lr", paramLabel = "X",
            description = "Learning rate. Default: sgd 0.01; momentum 0.03 (faces-ae 0.01, dln 2e-3); adam/adamw 1e-4 (faces-ae 3e-5, dln 2e-4); "
                    + "fishleg: the preset's (mnist-ae 0.01, jax-mnist 0.05); kfac 1 (curves-ae 0.3, faces-ae and dln 0.1).")
    Float lr;

    @Option(names = "--lr-schedule", paramLabel = "SCHEDULE",
            description = "How the learning rate changes over the run: constant | linear | cosine, the decaying ones optionally "
                    + "followed by ,start=F (keep the learning rate for the first fraction F of the run's steps, default 0) and "
                    + ",floor=M (decay towards M times it at the last step, default 0), e.g. linear,start=0.5. It follows the "
                    + "step count, so a resumed run with the same --steps/--epochs continues it exactly. Default: constant.")
    String lrSchedule;

    @Option(names = "--momentum", paramLabel = "MU",
            description = "Momentum of 'momentum' (default 0.9); for FishLeg its gradient/natural-gradient EMA beta (preset, 0.9).")
    Float momentum;

    @Option(names = "--momentum-form", paramLabel = "FORM", defaultValue = "ema",
            description = "ema: m = mu m + (1-mu) g (the authors' baseline code) | classic: m = mu m + g (torch.optim.SGD). "
                    + "Default: ${DEFAULT-VALUE}.")
    String momentumForm;

    @Option(names = "--nesterov", description = "Nesterov momentum (momentum only). Default: off.")
    boolean nesterov;

    @Option(names = "--beta1", paramLabel = "B", description = "Adam/AdamW beta1. Default: 0.9.")
    Float beta1;

    @Option(names = "--beta2", paramLabel = "B", description = "Adam/AdamW beta2. Default: 0.9 (the authors' MNIST baseline; torch uses 0.999).")
    Float beta2;

    @Option(names = "--eps", paramLabel = "E", description = "Adam/AdamW epsilon. Default: 1e-4.")
    Float eps;

    @Option(names = "--weight-decay", paramLabel = "WD",
            description = "Weight decay. sgd/momentum/adam: L2 added to the gradient (default 0); adamw: decoupled, p -= lr wd p "
                    + "(default 1e-2); fishleg: the preset's (jax-mnist 1e-5 in the loss; ocaml presets and mnist-ae 0); kfac: L2 (default 1e-5).")
    Float weightDecay;

    // ---------------------------------------------------------------- run length and batching
    @Option(names = "--batch-size", paramLabel = "B",
            description = "Mini-batch size. Default: 100 (40 for dln); with --sampling full, the training set size (the only one allowed).")
    Integer batchSize;

    @Option(names = "--sampling", paramLabel = "KIND",
            description = "How the training batches are drawn from the training set, seeded by --seed: shuffle (a fresh "
                    + "permutation every epoch, no repeats; the remainder of an epoch is dropped) | bootstrap (every index drawn "
                    + "uniformly with replacement, so a batch may repeat examples: the FishLeg authors' deep linear network, where "
                    + "each batch of 40 resamples the 40 training points) | full (the whole training set every step). "
                    + "FishLeg's auxiliary batches are drawn the same way by a second sampler (with full: the whole training set, "
                    + "unless --aux-batch-size is given, then the training set in order, cycling). Checkpoints record it; "
                    + "--resume needs the same. Default: bootstrap for dln, shuffle otherwise.")
    String sampling;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Length length;

    static final class Length {
        @Option(names = "--epochs", paramLabel = "N", required = true, description = "Train for N epochs. Default: 10 epochs.")
        Integer epochs;
        @Option(names = "--steps", paramLabel = "N", required = true, description = "Train until N optimizer steps in total (a resumed run counts its earlier steps).")
        Long steps;
    }

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the weights, the batch draws and FishLeg's auxiliary batches and target samples. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--weight-init", paramLabel = "normal|uniform", defaultValue = "normal",
            description = "Initial weights: normal (W ~ N(0, 1/n_in), biases 0) | uniform (W and biases ~ U(+-1/sqrt(n_in)), "
                    + "a PyTorch nn.Linear's default, as in the KFAC/K-BFGS benchmark code). Default: ${DEFAULT-VALUE}.")
    String weightInit;

    // ---------------------------------------------------------------- backend
    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "auto | cpu | cuda. auto uses CUDA when a usable GPU is found, else the CPU; the environment variable "
                    + "FISHLEG_BACKEND overrides auto. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--graphs", paramLabel = "on|off", defaultValue = "on",
            description = "On a backend with graphs (CUDA): capture a step once and replay it as one graph launch whenever the "
                    + "optimizer's next step queues the same work (every step of the built-in optimizers after the first of its "
                    + "kind; FishLeg has two kinds, with and without the auxiliary update). The results are those of step-by-step execution. "
                    + "Default: ${DEFAULT-VALUE}.")
    String graphs;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU backend threads (sets -Dfishleg.cpu.threads before the backend starts; OpenBLAS uses the same count). Default: all processors.")
    Integer threads;

    // ---------------------------------------------------------------- output
    @Option(names = "--metrics", paramLabel = "FILE",
            description = "Metrics CSV, flushed after each row; 'none' writes none. Default: runs/<model>-<optimizer>-<yyyyMMdd-HHmmss>.csv "
                    + "in the working directory.")
    String metrics;

    @Option(names = "--log-every", paramLabel = "N", defaultValue = "10",
            description = "Read the loss (the only device-to-host copy of a step) and write a metrics row every N steps, and at "
                    + "epoch ends. Default: ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--eval-every-epochs", paramLabel = "N", defaultValue = "1",
            description = "Evaluate the test loss every N epochs (0: only at the start and the end; it is always evaluated at "
                    + "step 0 and at the last step). Default: ${DEFAULT-VALUE}.")
    int evalEveryEpochs;

    @Option(names = "--eval-batch-size", paramLabel = "B", defaultValue = "1000",
            description = "Batch size of the test-set evaluation. Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR",
            description = "Save " + Checkpoint.LATEST + " (a safetensors file: named weights, optimizer state, step, batch order, "
                    + "random state, checksums) there every --checkpoint-every steps, at the end and on Ctrl-C, atomically and "
                    + "synced to disk; never with non-finite values. On divergence the last finite parameters go to "
                    + Checkpoint.LAST_FINITE + ". Default: no checkpoints.")
    Path checkpointDir;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "0",
            description = "Checkpoint period in steps (0: only at the end). Default: ${DEFAULT-VALUE}.")
    long checkpointEvery;

    @Option(names = "--keep-checkpoints", description = "Also keep every checkpoint as step-N.ckpt beside " + Checkpoint.LATEST + ".")
    boolean keepCheckpoints;

    @Option(names = "--overwrite", description = "Start a new run even where --metrics names an existing file or "
            + "--checkpoint-dir holds a checkpoint (they are replaced). Without it such a run is refused, so an earlier "
            + "run is never lost by mistake; --resume continues it instead.")
    boolean overwrite;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Continue exactly from a checkpoint (same model, optimizer, data, batch size and --sampling; its batch-order seed is "
                    + "used). Give the same --metrics file to continue it. The file is checked in full first (structure, "
                    + "checksums, finite values, ranges); a damaged one is refused with one line, exit code 2.")
    Path resume;

    @Option(names = "--divergence-factor", paramLabel = "F", defaultValue = "100",
            description = "Stop as diverged (exit code 1, like a NaN loss) when a logged training loss exceeds L1 + F x max(|L1|, 1), "
                    + "L1 being the loss of the run's first step (after --resume: of the resumed part's first): a blow-up that stays finite would otherwise run to the end. "
                    + "0 turns this check off (non-finite losses always stop the run). Default: ${DEFAULT-VALUE}.")
    double divergenceFactor;

    @Option(names = "--eval-train-set",
            description = "At every test evaluation also evaluate the mean NLL over the whole training set; the metrics get two "
                    + "more columns, train_set_loss and eval_seconds (the seconds spent on evaluations so far, so wall_seconds - "
                    + "eval_seconds is the training time). Default: off.")
    boolean evalTrainSet;

    @Option(names = "--plot", paramLabel = "PNG", description = "Draw the loss curves of this run into a PNG at the end.")
    Path plot;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors (no progress, no summary).")
    boolean quiet;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (a bar on a terminal, else plain lines) | bar (force the bar) | lines | none. Default: ${DEFAULT-VALUE}.")
    String progressMode;

    @Option(names = "--print-every", paramLabel = "N", defaultValue = "100",
            description = "With plain progress lines: a line every N steps (and at each evaluation). Default: ${DEFAULT-VALUE}.")
    long printEvery;

    // ---------------------------------------------------------------- FishLeg
    @Option(names = "--fishleg-preset", paramLabel = "NAME",
            description = "FishLeg configuration: jax-mnist | jax-faces | ocaml-mnist | ocaml-faces | ocaml-dln (as published) | "
                    + "mnist-ae (ocaml-mnist with --factor full --damping 1e-3) | mnist-ae-1000 (mnist-ae with --aux-lr 3e-3) | "
                    + "mnist-ae-kfac-start (mnist-ae with --q-init kfac --q-init-steps 21 --lr 1 --damping 3 --aux-lr 1e-4 "
                    + "--ordering momentum-on-gradient: started from KFAC's warm-up; opt-in, for batch 1000) | "
                    + "curves-ae (mnist-ae with --lr 0.02) | curves-ae-kfac-start (curves-ae with --q-init kfac --q-init-steps 400 "
                    + "--q-init-every 20 --lr 0.3 --damping 1 --aux-lr 1e-4 --ordering momentum-on-gradient; opt-in, ties KFAC on CURVES) | faces-ae (mnist-ae with --init-scale 1 --aux-lr 1e-4) | "
                    + "dln (ocaml-dln with --lr 0.1 --max-step-norm 1). "
                    + "Default: the preset of the model's name for mnist-ae (mnist-ae-1000 at --batch-size 1000 or more), curves-ae, "
                    + "faces-ae and dln, jax-mnist otherwise. "
                    + "The FishLeg options below override it.")
    String fishlegPreset;

    @Option(names = "--aux-lr", paramLabel = "X", description = "Adam learning rate of the Q factors (lambda). Preset default (mnist-ae 1e-3, mnist-ae-1000 3e-3, jax-mnist 1e-4).")
    Float auxLr;

    @Option(names = "--aux-eps", paramLabel = "E", description = "Adam epsilon of the Q factors. Preset default (jax 1e-8, ocaml 1e-4).")
    Float auxEps;

    @Option(names = "--aux-batch-size", paramLabel = "B", description = "Auxiliary mini-batch size. Preset default (jax-mnist 1000; "
            + "mnist-ae, ocaml-mnist 10; ocaml-dln 40); with --sampling full, the training set size.")
    Integer auxBatchSize;

    @Option(names = "--aux-every", paramLabel = "N", description = "Auxiliary (Q) update period in steps. Preset default (10; ocaml-dln 1).")
    Integer auxEvery;

    @Option(names = "--aux-at-step0", paramLabel = "true|false", arity = "1",
            description = "Also update Q at step 0. Preset default (true).")
    Boolean auxAtStep0;

    @Option(names = "--damping", paramLabel = "GAMMA", description = "Damping gamma in (F + gamma I). Preset default (jax 1e-3, ocaml 0).")
    Float damping;

    @Option(names = "--init-scale", paramLabel = "S", description = "Q_0 = S I. Preset default (mnist-ae 3, jax-mnist 0.2).")
    Float initScale;

    @Option(names = "--factor", paramLabel = "KIND", description = "full | triangular Q factors. Preset default (jax full, ocaml triangular).")
    String factor;

    @Option(names = "--ordering", paramLabel = "KIND",
            description = "momentum-on-gradient (JAX) | momentum-on-natural-gradient (OCaml). Preset default (jax momentum-on-gradient).")
    String ordering;

    @Option(names = "--aux-direction", paramLabel = "KIND",
            description = "momentum (u = gbar/|gbar|, JAX) | current (u = g/|g|, OCaml). Preset default (jax momentum).")
    String auxDirection;

    @Option(names = "--fisher", paramLabel = "KIND",
            description = "gauss-newton (deterministic GGN products) | sampled (Hessian on targets sampled from the model). Default: gauss-newton.")
    String fisher;

    @Option(names = "--max-step-norm", paramLabel = "T",
            description = "FishLeg step safeguard: scale Q g by min(1, T / ||Q g||) before the momentum, so no step moves the "
                    + "parameters by more than lr * T; 0 = off. Preset default (dln 1, published presets 0).")
    Float maxStepNorm;

    @Option(names = "--aux-weight-decay", paramLabel = "WD", description = "Weight decay on the Q factors. Preset default (jax 0, ocaml 1e-3).")
    Float auxWeightDecay;

    @Option(names = "--decoupled-weight-decay", paramLabel = "true|false", arity = "0..1", fallbackValue = "true",
            description = "FishLeg weight decay outside Q (theta -= lr wd theta) instead of in the loss. Preset default (jax false).")
    Boolean decoupledWeightDecay;

    @Option(names = "--low-rank", paramLabel = "true|false", arity = "1",
            description = "Low-rank Q g when Q acts on the current batch gradient. Preset default (true).")
    Boolean lowRank;

    @Option(names = "--precondition-aux", paramLabel = "on|off",
            description = "FishLeg: precondition the auxiliary gradient by Q (d replaced by Q d, as the later PyTorch library does). "
                    + "Preset default (off).")
    String preconditionAux;

    @Option(names = "--q-init", paramLabel = "identity|kfac",
            description = "FishLeg: how Q starts. identity: Q0 = s I (--init-scale); kfac: KFAC's Kronecker-factored (F + gamma I)^-1 from "
                    + "the first training batch (factors shifted by sqrt(--damping); needs full factors and a damping above 0). Preset default (identity).")
    String qInit;

    @Option(names = "--q-init-steps", paramLabel = "K",
            description = "FishLeg with --q-init kfac: set Q from KFAC's running-mean factors before each of the first K steps (KFAC's "
                    + "warm-up: decay min(1 - 1/(k+1), 0.9), factorised every step), then let the auxiliary loss move it. "
                    + "Preset default (1: the first batch only).")
    Integer qInitSteps;

    @Option(names = "--q-init-every", paramLabel = "N",
            description = "FishLeg with --q-init kfac and --q-init-steps K: within those K steps factorise the running-mean factors "
                    + "into Q as KFAC does its inverses, before each of the first N + 1 steps and then every N-th (20: KFAC's "
                    + "schedule, so the first K steps are KFAC's). Preset default (1: every step).")
    Integer qInitEvery;

    // ---------------------------------------------------------------- KFAC
    @Option(names = "--kfac-damping", paramLabel = "GAMMA",
            description = "KFAC Tikhonov damping gamma: sqrt(gamma) on each factor (or split by pi, --kfac-damping-split). Default: 3 (curves-ae 1).")
    Float kfacDamping;

    @Option(names = "--kfac-damping-split", paramLabel = "none|pi",
            description = "KFAC: none (sqrt(gamma) on each factor, the KFAC/K-BFGS benchmark code) | pi (Martens and Grosse's "
                    + "pi sqrt(gamma) and sqrt(gamma)/pi). Default: none with lr 1 (mnist-ae), lr 0.3 (curves-ae); pi with lr 0.1 for faces-ae, dln.")
    String kfacDampingSplit;

    @Option(names = "--kfac-warmup", paramLabel = "on|off",
            description = "KFAC: the benchmark code's warm-up (the factors' running mean over the first steps, decay min(1 - 1/(i+1), "
                    + "--kfac-stat-decay), and inverses at steps 0 to --kfac-inverse-every). Default: on (mnist-ae, curves-ae); off for faces-ae, dln.")
    String kfacWarmup;

    @Option(names = "--kfac-inverse-every", paramLabel = "N", description = "KFAC: steps between factor inversions. Default: 20.")
    Integer kfacInverseEvery;

    @Option(names = "--kfac-stat-decay", paramLabel = "D", description = "KFAC: moving-average decay of the factors. Default: 0.9.")
    Float kfacStatDecay;

    @Option(names = "--kfac-curvature", paramLabel = "KIND",
            description = "KFAC: sampled (errors of targets drawn from the model: the Fisher) | empirical (the batch's targets). Default: sampled.")
    String kfacCurvature;

    /** The KFAC configuration of the KFAC options (defaults for those left out). */
    private org.fishleg.optim.kfac.KfacConfig kfacConfig(String modelName) {
        return parse(() -> {
            var kb = Recipes.kfacConfig(modelName).toBuilder();
            if (kfacDamping != null) kb.damping(kfacDamping);
            if (kfacDampingSplit != null) kb.dampingSplit(org.fishleg.optim.kfac.KfacConfig.DampingSplit.parse(kfacDampingSplit));
            if (kfacWarmup != null) kb.warmup(onOff("--kfac-warmup", kfacWarmup));
            if (kfacInverseEvery != null) kb.inverseEvery(kfacInverseEvery);
            if (kfacStatDecay != null) kb.statDecay(kfacStatDecay);
            if (kfacCurvature != null) kb.curvature(org.fishleg.optim.kfac.KfacConfig.Curvature.parse(kfacCurvature));
            if (lr != null) kb.lr(lr);
            if (momentum != null) kb.momentum(momentum);
            if (weightDecay != null) kb.weightDecay(weightDecay);
            return kb.build();
        });
    }

    @Override
    public Integer call() {
        // ---- validate everything cheap before touching data or the backend
        ModelChoice mc = ModelChoice.parse(model, likelihood);
        String optName = canonicalOptimizer(optimizer);
        boolean isFishLeg = optName.startsWith("fishleg");
        String dataName = TrainingRun.dataName(mc, data);
        String backendChoice = TrainingRun.backendChoice(backend);
        Sampling samp = sampling != null ? parse(() -> Sampling.parse(sampling)) : TrainingRun.defaultSampling(mc);
        LrSchedule schedule = lrSchedule != null ? parse(() -> LrSchedule.parse(lrSchedule)) : LrSchedule.CONSTANT;
        WeightInit init = parse(() -> WeightInit.parse(weightInit));
        int batch = batchSize != null ? batchSize : TrainingRun.defaultBatchSize(mc); // full: set once the data are loaded
        positive("--batch-size", batch);
        positive("--log-every", logEvery);
        positive("--eval-batch-size", evalBatchSize);
        if (evalEveryEpochs < 0) throw new UserException("--eval-every-epochs must be >= 0, got " + evalEveryEpochs);
        if (checkpointEvery < 0) throw new UserException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        if (printEvery < 1) throw new UserException("--print-every must be >= 1, got " + printEvery);
        if (!(divergenceFactor >= 0) || !Double.isFinite(divergenceFactor))
            throw new UserException("--divergence-factor must be a finite number >= 0 (0: off), got " + divergenceFactor);
        if (threads != null) positive("--threads", threads);
        boolean useGraphs = parse(() -> onOff("--graphs", graphs));
        if (length != null && length.epochs != null) positive("--epochs", length.epochs);
        if (length != null && length.steps != null && length.steps < 1) throw new UserException("--steps must be >= 1, got " + length.steps);
        checkHyperParameters();
        SgdMomentum.Form form = parse(() -> SgdMomentum.Form.parse(momentumForm));
        FishLegConfig flc = isFishLeg ? fishLegConfig(mc.name, batch) : null;
        org.fishleg.optim.kfac.KfacConfig kfc = optName.equals("kfac") ? kfacConfig(mc.name) : null;
        Path metricsPath = metricsPath(mc, optName);
        if (metricsPath != null) MetricsWriter.checkWritable(metricsPath);
        if (plot != null && metricsPath == null) throw new UserException("--plot needs a metrics file (not --metrics none)");
        if (plot != null) checkPng(plot);
        if (keepCheckpoints && checkpointDir == null) throw new UserException("--keep-checkpoints needs --checkpoint-dir");
        if (checkpointEvery > 0 && checkpointDir == null)
            throw new UserException("--checkpoint-every needs --checkpoint-dir (the folder the checkpoints go to)");
        checkOptionsApply(optName);
        if (resume == null && !overwrite) refuseToReplace(metricsPath);
        if (checkpointDir != null) {
            try {
                Files.createDirectories(checkpointDir);
            } catch (Exception e) {
                throw new UserException("cannot create checkpoint folder " + checkpointDir + ": " + e.getMessage());
            }
            if (!Files.isWritable(checkpointDir)) throw new UserException("checkpoint folder " + checkpointDir + " is not writable");
        }
        if (resume != null) checkResume(mc, optName, samp == Sampling.FULL && batchSize == null ? null : batch, samp);
        String progress = progressMode.trim().toLowerCase(Locale.ROOT);
        if (!List.of("auto", "bar", "lines", "none").contains(progress))
            throw new UserException("--progress must be auto, bar, lines or none, got '" + progressMode + "'");

        TrainingRun.checkUsable(backendChoice);

        // ---- data, backend, model
        Splits splits = DataSources.load(dataName, dataDir, seed);
        info("data: " + dataName + " from " + DataSources.location(dataName, dataDir) + ": train " + splits.train().n()
                + " x " + splits.train().d() + ", test " + splits.test().n());
        if (samp == Sampling.FULL) {
            int n = splits.train().n();
            if (batchSize != null && batchSize != n)
                throw new UserException("--sampling full trains on all " + n + " training examples every step; --batch-size "
                        + batchSize + " contradicts it (leave it out or give " + n + ")");
            batch = n;
            if (flc != null && auxBatchSize == null) { // the auxiliary batch is the whole training set too
                FishLegConfig preset = flc;
                flc = parse(() -> preset.toBuilder().auxBatchSize(n).build());
            }
            if (resume != null) checkResume(mc, optName, batch, samp);
        }
        if (threads != null) System.setProperty("fishleg.cpu.threads", Integer.toString(threads));
        try (Backend be = Backends.open(backendChoice, this::info)) {
            if (threads != null && be.name().equals("cpu") && !be.description().contains(" " + threads + " thread"))
                info("warning: --threads " + threads + " was not applied by this CPU backend (" + be.description() + ")");
            try (DeviceDataset train = DeviceDataset.upload(be, splits.train());
                 DeviceDataset test = DeviceDataset.upload(be, splits.test())) {
                splits = null; // the host copies are no longer needed
                TrainerConfig.Builder tb = TrainerConfig.builder().batchSize(batch).seed(seed).logEvery(logEvery)
                        .evalEveryEpochs(evalEveryEpochs).evalBatchSize(evalBatchSize).metrics(metricsPath)
                        .checkpointDir(checkpointDir).checkpointEvery(checkpointEvery).keepCheckpoints(keepCheckpoints).resume(resume)
                        .graphs(useGraphs).sampling(samp).evalTrainSet(evalTrainSet).lrSchedule(schedule)
                        .divergenceFactor(divergenceFactor);
                if (length != null && length.steps != null) tb.steps(length.steps);
                else tb.epochs(length != null && length.epochs != null ? length.epochs : 10);
                TrainerConfig cfg = tb.build();
                TrainingProgress prog = progress(progress);
                Optimizers.Options oo = new Optimizers.Options().modelName(mc.name).lr(lr).momentum(momentum)
                        .momentumForm(form).nesterov(nesterov).betas(beta1, beta2).eps(eps).weightDecay(weightDecay)
                        .fishLeg(flc).kfac(kfc);
                int b = batch;
                return TrainingRun.with(be, train, test, mc, seed, init, cfg, prog, optName, oo, (trainer, opt) -> {
                    info("model: " + mc.summary());
                    info("optimizer: " + opt.describe());
                    info(String.format(Locale.ROOT, "run: %d steps (%d per epoch), batch %d, sampling %s, seed %d%s%s",
                            trainer.totalSteps(), trainer.stepsPerEpoch(), b, samp, seed,
                            schedule.isConstant() ? "" : ", lr schedule " + schedule,
                            metricsPath != null ? ", metrics " + metricsPath : ""));
                    // Ctrl-C (SIGINT) or SIGTERM: finish the step in progress, write its checkpoint (or, without one, its
                    // metrics row), print the summary below, then exit with the signal's status (130 / 143)
                    try (TrainingRun.StopHook hook = new TrainingRun.StopHook()) {
                        hook.watch(trainer);
                        int rc = report(trainer.run(opt), prog, mc, opt, metricsPath);
                        if (be.supportsGraphs()) info(trainer.graphs().summary());
                        return rc;
                    }
                });
            }
        }
    }

    /** Prints the outcome of a run and returns the exit code. */
    private int report(TrainResult r, TrainingProgress prog, ModelChoice mc, Optimizer opt, Path metricsPath) {
        if (r.interrupted) {
            err.println("fishleg train: " + r.message);
            err.flush();
            return Main.EXIT_INTERRUPTED;
        }
        if (plot != null) {
            new LossPlot().title(mc.label() + " / " + opt.name()).write(List.of(metricsPath), plot);
            info("plot: " + plot);
        }
        if (r.diverged) {
            if (!(prog instanceof ProgressBar || prog instanceof ProgressLines) || quiet)
                err.println("fishleg train: " + r.message);
            return Main.EXIT_DIVERGED;
        }
        String mse = Double.isNaN(r.lastTrainMse) ? ""
                : String.format(Locale.ROOT, ", train mse %.4g, test mse %.4g", r.lastTrainMse, r.lastTestMse);
        info(String.format(Locale.ROOT, "done: %d steps in %.1f s (%.1f s of it test evaluation; training "
                        + "%.1f ms/step, %.2f steps/s); train loss %.4f, test loss %.4f%s%s",
                r.steps, r.sessionSeconds, r.evalSeconds, r.msPerStep(), r.stepsPerSecond(),
                r.lastTrainLoss, r.lastTestLoss, mse, metricsPath != null ? "; metrics " + metricsPath : ""));
        return Main.EXIT_OK;
    }

    private void info(String line) {
        if (!quiet) {
            out.println(line);
            out.flush();
        }
    }

    private TrainingProgress progress(String mode) {
        if (quiet || mode.equals("none")) return TrainingProgress.NONE;
        boolean terminal = System.console() != null;
        if (mode.equals("bar") || (mode.equals("auto") && terminal)) return new ProgressBar(err);
        return new ProgressLines(err, printEvery);
    }

    private static String canonicalOptimizer(String name) {
        try {
            return Optimizers.canonicalName(name);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }

    private static void positive(String opt, long v) {
        if (v < 1) throw new UserException(opt + " must be >= 1, got " + v);
    }

    private void checkHyperParameters() {
        if (lr != null && !(lr > 0 && Float.isFinite(lr))) throw new UserException("--lr must be a positive number, got " + lr);
        if (momentum != null && !(momentum >= 0 && momentum < 1)) throw new UserException("--momentum must be in [0, 1), got " + momentum);
        if (beta1 != null && !(beta1 >= 0 && beta1 < 1)) throw new UserException("--beta1 must be in [0, 1), got " + beta1);
        if (beta2 != null && !(beta2 >= 0 && beta2 < 1)) throw new UserException("--beta2 must be in [0, 1), got " + beta2);
        if (eps != null && !(eps > 0 && Float.isFinite(eps))) throw new UserException("--eps must be a positive number, got " + eps);
        if (weightDecay != null && !(weightDecay >= 0 && Float.isFinite(weightDecay)))
            throw new UserException("--weight-decay must be >= 0, got " + weightDecay);
    }

    interface Parse<T> { T get(); }

    /** The value of an on|off option; IllegalArgumentException naming the option otherwise. */
    private static boolean onOff(String option, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (!v.equals("on") && !v.equals("off")) throw new IllegalArgumentException(option + " must be on or off, got '" + value + "'");
        return v.equals("on");
    }

    private static <T> T parse(Parse<T> p) {
        try {
            return p.get();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }

    /** The preset (named or the model's recipe) with every explicit FishLeg-only option applied (not --lr, --weight-decay, --momentum). */
    FishLegConfig fishLegConfig(String modelName, Integer batch) {
        FishLegConfig base = parse(() -> fishlegPreset != null ? FishLegConfig.preset(fishlegPreset.trim())
                : Recipes.fishLegConfig(modelName, batch));
        FishLegConfig.Builder b = base.toBuilder();
        if (auxLr != null) b.auxLr(auxLr);
        if (auxEps != null) b.auxEps(auxEps);
        if (auxBatchSize != null) b.auxBatchSize(auxBatchSize);
        if (auxEvery != null) b.auxEvery(auxEvery);
        if (auxAtStep0 != null) b.auxAtStepZero(auxAtStep0);
        if (damping != null) b.damping(damping);
        if (initScale != null) b.initScale(initScale);
        if (factor != null) b.factor(parse(() -> parseFactor(factor)));
        if (ordering != null) b.ordering(parse(() -> parseOrdering(ordering)));
        if (auxDirection != null) b.auxDirection(parse(() -> parseDirection(auxDirection)));
        if (fisher != null) b.fisher(parse(() -> parseFisher(fisher)));
        if (auxWeightDecay != null) b.auxWeightDecay(auxWeightDecay);
        if (decoupledWeightDecay != null) b.decoupledWeightDecay(decoupledWeightDecay);
        if (lowRank != null) b.lowRank(lowRank);
        if (maxStepNorm != null) b.maxStepNorm(maxStepNorm);
        if (preconditionAux != null) b.preconditionAux(parse(() -> onOff("--precondition-aux", preconditionAux)));
        if (qInit != null) parse(() -> b.qInit(qInit));
        if (qInitSteps != null) b.qInitSteps(qInitSteps);
        if (qInitEvery != null) b.qInitEvery(qInitEvery);
        // --lr, --weight-decay and --momentum are applied once, by Optimizers.create (they go in its Options)
        return parse(b::build);
    }

    static FishLegConfig.Factor parseFactor(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "full": return FishLegConfig.Factor.FULL;
            case "triangular": case "tri": return FishLegConfig.Factor.TRIANGULAR;
            default: throw new IllegalArgumentException("--factor must be full or triangular, got '" + s + "'");
        }
    }

    static FishLegConfig.Ordering parseOrdering(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "momentum-on-gradient": case "jax": return FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT;
            case "momentum-on-natural-gradient": case "ocaml": return FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT;
            default: throw new IllegalArgumentException("--ordering must be momentum-on-gradient or momentum-on-natural-gradient, got '" + s + "'");
        }
    }

    static FishLegConfig.AuxDirection parseDirection(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "momentum": case "momentum-gradient": return FishLegConfig.AuxDirection.MOMENTUM_GRADIENT;
            case "current": case "current-gradient": return FishLegConfig.AuxDirection.CURRENT_GRADIENT;
            default: throw new IllegalArgumentException("--aux-direction must be momentum or current, got '" + s + "'");
        }
    }

    static FishLegConfig.FisherProduct parseFisher(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "gauss-newton": case "ggn": return FishLegConfig.FisherProduct.GAUSS_NEWTON;
            case "sampled": case "sampled-hessian": return FishLegConfig.FisherProduct.SAMPLED_HESSIAN;
            default: throw new IllegalArgumentException("--fisher must be gauss-newton or sampled, got '" + s + "'");
        }
    }

    /** Options that only one optimizer family reads: given for another, they would be silently ignored. */
    private void checkOptionsApply(String optName) {
        boolean fishLeg = optName.startsWith("fishleg"), adam = optName.equals("adam") || optName.equals("adamw");
        boolean mom = optName.equals("momentum");
        java.util.Map<String, Object> fishLegOnly = new java.util.LinkedHashMap<>();
        fishLegOnly.put("--fishleg-preset", fishlegPreset);
        fishLegOnly.put("--aux-lr", auxLr);
        fishLegOnly.put("--aux-eps", auxEps);
        fishLegOnly.put("--aux-batch-size", auxBatchSize);
        fishLegOnly.put("--aux-every", auxEvery);
        fishLegOnly.put("--aux-at-step0", auxAtStep0);
        fishLegOnly.put("--damping", damping);
        fishLegOnly.put("--init-scale", initScale);
        fishLegOnly.put("--factor", factor);
        fishLegOnly.put("--ordering", ordering);
        fishLegOnly.put("--aux-direction", auxDirection);
        fishLegOnly.put("--fisher", fisher);
        fishLegOnly.put("--aux-weight-decay", auxWeightDecay);
        fishLegOnly.put("--decoupled-weight-decay", decoupledWeightDecay);
        fishLegOnly.put("--low-rank", lowRank);
        fishLegOnly.put("--max-step-norm", maxStepNorm);
        fishLegOnly.put("--precondition-aux", preconditionAux);
        fishLegOnly.put("--q-init", qInit);
        fishLegOnly.put("--q-init-steps", qInitSteps);
        fishLegOnly.put("--q-init-every", qInitEvery);
        if (!fishLeg)
            for (var e : fishLegOnly.entrySet())
                if (e.getValue() != null)
                    throw new UserException(e.getKey() + " applies to FishLeg only (--optimizer fishleg, fishleg-qg or fishleg-g), not " + optName);
        if (!adam)
            for (var e : java.util.Map.<String, Object>of("--beta1", beta1 == null ? "" : beta1, "--beta2", beta2 == null ? "" : beta2,
                    "--eps", eps == null ? "" : eps).entrySet())
                if (!"".equals(e.getValue())) throw new UserException(e.getKey() + " applies to adam and adamw only, not " + optName);
        if (!mom && nesterov) throw new UserException("--nesterov applies to momentum only, not " + optName);
        if (!mom && !"ema".equalsIgnoreCase(momentumForm.trim()))
            throw new UserException("--momentum-form applies to momentum only, not " + optName);
        boolean kfac = optName.equals("kfac");
        if (momentum != null && !mom && !fishLeg && !kfac)
            throw new UserException("--momentum applies to momentum, FishLeg (its beta) and KFAC only, not " + optName);
        if (!kfac)
            for (var e : java.util.Arrays.asList(new Object[][] {{"--kfac-damping", kfacDamping}, {"--kfac-damping-split", kfacDampingSplit}, {"--kfac-warmup", kfacWarmup}, {"--kfac-inverse-every", kfacInverseEvery},
                    {"--kfac-stat-decay", kfacStatDecay}, {"--kfac-curvature", kfacCurvature}}))
                if (e[1] != null) throw new UserException(e[0] + " applies to kfac only, not " + optName);
    }

    /** A new run (no --resume, no --overwrite) must not replace an earlier run's metrics or checkpoint. */
    private void refuseToReplace(Path metricsPath) {
        try {
            if (metricsPath != null && Files.isRegularFile(metricsPath) && Files.size(metricsPath) > 0)
                throw new UserException("metrics file " + metricsPath + " already exists (an earlier run's); continue that run with "
                        + "--resume CHECKPOINT --metrics " + metricsPath + ", name another file, or replace it with --overwrite");
            if (checkpointDir != null && Files.exists(checkpointDir.resolve(Checkpoint.LATEST)))
                throw new UserException("checkpoint folder " + checkpointDir + " already holds " + Checkpoint.LATEST
                        + " (an earlier run's); continue it with --resume " + checkpointDir.resolve(Checkpoint.LATEST)
                        + ", use another folder, or replace it with --overwrite");
        } catch (java.io.IOException e) {
            throw new UserException("cannot read " + metricsPath + ": " + e.getMessage());
        }
    }

    private Path metricsPath(ModelChoice mc, String optName) {
        if (metrics != null && metrics.trim().equalsIgnoreCase("none")) return null;
        if (metrics != null) {
            if (metrics.isBlank()) throw new UserException("--metrics is empty");
            return Path.of(metrics);
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        return Path.of("runs", mc.label() + "-" + optName + "-" + stamp + ".csv");
    }

    private static void checkPng(Path png) {
        if (Files.isDirectory(png)) throw new UserException("--plot " + png + " is a directory");
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null && Files.exists(parent) && !Files.isWritable(parent))
            throw new UserException("cannot write plot " + png + ": folder not writable");
    }

    /** Checks a checkpoint against this run; {@code batch} null: not known yet (checked once the data are loaded). */
    private void checkResume(ModelChoice mc, String optName, Integer batch, Sampling samp) {
        Checkpoint c = Checkpoint.read(resume);
        if (!c.modelSpec.equals(mc.spec.toString()))
            throw new UserException("checkpoint " + resume + " is for model " + c.modelSpec + ", not " + mc.spec);
        if (!c.likelihood.equals(mc.likelihood.toString()))
            throw new UserException("checkpoint " + resume + " is for likelihood " + c.likelihood + ", not " + mc.likelihood);
        String expect = optName.startsWith("fishleg") ? "fishleg" : optName;
        if (!c.parametersOnly() && !c.optimizerName.equals(expect))
            throw new UserException("checkpoint " + resume + " was written by optimizer " + c.optimizerName + ", not " + optName);
        if (batch != null && c.batchSize != batch)
            throw new UserException("checkpoint " + resume + " was written with --batch-size " + c.batchSize + ", not " + batch);
        if (!c.sampling.equals(samp.cliName()))
            throw new UserException("checkpoint " + resume + " was written with --sampling " + c.sampling + ", not " + samp
                    + " (--sampling " + c.sampling + " continues it)");
    }
}
