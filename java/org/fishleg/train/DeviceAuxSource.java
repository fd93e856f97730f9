package org.fishleg.train;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * FishLeg's auxiliary mini-batches: a second seeded sampler over the training inputs (independent of the
 * training batch order, with the same {@link Sampling} as the training batches), gathered on the backend into
 * the caller's tensor. State: its {@link IndexStream}.
 */
public final class DeviceAuxSource implements AuxBatchSource {
    /** Mixed into the training seed to get the auxiliary sampler's seed. */
    static final long SEED_SALT = 0x5DEECE66DL;

    private final Backend backend;
    private final Tensor inputs;
    private final IndexStream stream;
    private long batches;

    /**
     * A SHUFFLE sampler.
     * @param backend the backend that holds {@code inputs}
     * @param inputs the training inputs, one example per row
     * @param seed the sampler's seed
     */
    public DeviceAuxSource(Backend backend, Tensor inputs, long seed) { this(backend, inputs, seed, Sampling.SHUFFLE); }

    /**
     * A sampler over the rows of {@code inputs} (a tensor on {@code backend}, e.g. {@link DeviceDataset#x()}); it does not own them.
     * @param backend the backend that holds {@code inputs}
     * @param inputs the training inputs, one example per row
     * @param seed the sampler's seed
     * @param sampling how the indices are drawn
     */
    public DeviceAuxSource(Backend backend, Tensor inputs, long seed, Sampling sampling) {
        this.backend = backend;
        this.inputs = inputs;
        this.stream = new IndexStream(inputs.rows(), seed, sampling);
    }

    /**
     * The auxiliary sampler's seed for a run seeded with {@code runSeed}.
     * @param runSeed the run's seed
     * @return the auxiliary seed
     */
    public static long seedFor(long runSeed) { return runSeed ^ SEED_SALT; }

    @Override
    public void next(Tensor x) {
        if (x.cols() != inputs.cols())
            throw new IllegalArgumentException("auxiliary batch tensor " + x.shape() + " does not match inputs of width " + inputs.cols());
        stream.gather(backend, inputs, x);
        batches++;
    }

    /**
     * Auxiliary batches drawn so far.
     * @return the number of batches drawn
     */
    public long batches() { return batches; }

    /**
     * The index stream (its state goes into checkpoints).
     * @return the index stream
     */
    public IndexStream stream() { return stream; }
}
