package org.fishleg.cli;

import org.fishleg.nn.WeightInit;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.backend.cuda.CudaSupport;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.Sampling;
import org.fishleg.train.Trainer;
import org.fishleg.train.TrainerConfig;
import org.fishleg.train.TrainingProgress;

/**
 * What {@code fishleg train} and {@code fishleg bench suite} share, so that both set a run up the same way: the
 * backend choice, the data set and batching defaults of a model, and the model / trainer / optimizer of one run
 * (weights initialised from the seed, FishLeg's auxiliary batches from the trainer), and the Ctrl-C / SIGTERM hook.
 */
final class TrainingRun {
    private TrainingRun() {}

    /** auto | cpu | cuda resolved (FISHLEG_BACKEND overrides auto); see {@link #checkUsable} for CUDA. */
    static String backendChoice(String backend) {
        try {
            return Backends.resolveChoice(backend);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage() + (backend.equalsIgnoreCase("auto") ? " (from " + Backends.ENV + ")" : ""));
        }
    }

    /** A user error when the chosen backend is cuda and CUDA is not usable here (probes the driver: done last). */
    static void checkUsable(String choice) {
        if (choice.equals("cuda")) {
            CudaSupport.Probe probe = CudaSupport.probe();
            if (!probe.usable) throw new UserException("--backend cuda: CUDA is not usable here: " + probe.reason);
        }
    }

    /** The data set: {@code data} when given, else the model's default; a user error when neither names one. */
    static String dataName(ModelChoice mc, String data) {
        String name = data != null ? DataSources.canonical(data)
                : DataSources.defaultFor(mc.name, mc.spec.inputSize(), mc.spec.outputSize(), mc.softmax());
        if (name == null)
            throw new UserException("--data is required for the model " + mc.spec + " (expected one of "
                    + String.join(", ", DataSources.NAMES) + ")");
        return name;
    }

    /** Batch sampling when none is given: bootstrap for dln (the authors' deep linear network), shuffle otherwise. */
    static Sampling defaultSampling(ModelChoice mc) {
        return Sampling.parse(org.fishleg.optim.Recipes.sampling(mc.name));
    }

    /**
     * An optimizer name of the benchmark commands, canonical: {@code NAME} or {@code fishleg...@PRESET} (that FishLeg preset
     * instead of the model's; the preset lower-cased).
     * @throws UserException for an unknown optimizer or preset, or a preset on an optimizer other than FishLeg
     */
    static String optimizerWithPreset(String o) {
        try {
            int at = o.indexOf('@');
            String n = Optimizers.canonicalName(at < 0 ? o : o.substring(0, at));
            if (at < 0) return n;
            if (!n.startsWith("fishleg")) throw new UserException("'" + o + "': only FishLeg takes a @PRESET");
            String p = o.substring(at + 1).trim().toLowerCase(java.util.Locale.ROOT);
            FishLegConfig.preset(p); // validates the preset name
            return n + "@" + p;
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }

    /** The optimizer part of {@link #optimizerWithPreset}'s name; its preset, if any, set on {@code oo}. */
    static String applyPreset(String name, Optimizers.Options oo) {
        int at = name.indexOf('@');
        if (at < 0) return name;
        oo.fishLeg(FishLegConfig.preset(name.substring(at + 1)));
        return name.substring(0, at);
    }

    /** Batch size when none is given: 40 for dln (its whole training set), 100 otherwise. */
    static int defaultBatchSize(ModelChoice mc) {
        return org.fishleg.optim.Recipes.batchSize(mc.name);
    }

    /** The work done with a run's trainer and optimizer. */
    interface Body<T> {
        T run(Trainer trainer, Optimizer opt);
    }

    /**
     * Builds the model (weights initialised from {@code seed} by {@code init}), its trainer on {@code train} / {@code test} and the
     * named optimizer (with FishLeg's auxiliary batches from the trainer), runs {@code body} with them and closes
     * them again.
     */
    static <T> T with(Backend be, DeviceDataset train, DeviceDataset test, ModelChoice mc, long seed, WeightInit init, TrainerConfig cfg,
                      TrainingProgress progress, String optName, Optimizers.Options options, Body<T> body) {
        try (Mlp net = new Mlp(be, mc.spec, mc.likelihood)) {
            net.init(seed, init);
            try (Trainer trainer = new Trainer(net, train, test, cfg, progress);
                 Optimizer opt = Optimizers.create(optName, net, options, trainer.auxSource())) {
                return body.run(trainer, opt);
            }
        }
    }

    /**
     * Ctrl-C (SIGINT) or SIGTERM while open: asks the watched trainer to finish the step in progress (an evaluation gives
     * way between its batches) and write its checkpoint or metrics row, then holds the JVM's exit until this hook is
     * closed (up to 2 minutes), so that what follows the run (the summary) is printed; the exit status stays the
     * signal's (130 for SIGINT, 143 for SIGTERM: System.exit blocks while the hook runs).
     */
    static final class StopHook implements AutoCloseable {
        private final CountDownLatch finished = new CountDownLatch(1);
        private final Thread hook;
        private volatile Trainer trainer;
        private volatile boolean requested;

        StopHook() {
            hook = new Thread(() -> {
                requested = true;
                Trainer t = trainer;
                if (t != null) t.requestStop();
                try {
                    finished.await(120, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "fishleg-stop");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        /** The trainer a signal stops from now on (null: none); one asked before is stopped at once. */
        void watch(Trainer t) {
            trainer = t;
            if (requested && t != null) t.requestStop();
        }

        /** True once a signal arrived. */
        boolean requested() { return requested; }

        @Override
        public void close() {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook is running
            }
        }
    }
}
