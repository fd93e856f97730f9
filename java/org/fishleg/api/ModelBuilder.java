package org.fishleg.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.MlpSpec;
import org.fishleg.nn.Models;

/**
 * Builds a {@link Model}:
 * {@code Model.builder().input(784).dense(256, Activation.RELU).dense(10).softmax().backend("cpu").seed(1).build()}.
 *
 * <p>{@link #dense(int)} without an activation is relu for a hidden layer and linear (no activation) for the
 * output layer. {@link #build()} and {@link #spec()} refuse, with an IllegalArgumentException naming the fix: no
 * input width, no layer, no likelihood, a width that is not positive (already at {@link #input}/{@link #dense}),
 * and an explicit non-linear output layer before a softmax or Bernoulli likelihood (they take logits, any real
 * number; a relu output cannot express p &lt; 1/2). A Gaussian mean may have one.
 */
public final class ModelBuilder {
    private Integer input;
    private final List<Integer> widths = new ArrayList<>();
    private final List<Activation> activations = new ArrayList<>(); // null: the default for the layer's position
    private Likelihood likelihood;
    private boolean bias = true;
    private String backendName = "auto";
    private Backend backend;
    private long seed = 1;
    private String name;

    ModelBuilder() {}

    /**
     * Sets the input width (pixels, features).
     * @param width inputs per example, positive
     * @return this builder
     */
    public ModelBuilder input(int width) {
        if (width <= 0) throw new IllegalArgumentException("input width must be positive, got " + width);
        if (name != null) throw new IllegalStateException("named model " + name + " already has its layers");
        input = width;
        return this;
    }

    /**
     * Adds a dense layer of {@code width} outputs: relu when hidden, linear when it ends up the output layer.
     * @param width outputs of the layer, positive
     * @return this builder
     */
    public ModelBuilder dense(int width) { return add(width, null); }

    /**
     * Adds a dense layer of {@code width} outputs with {@code activation} ({@link Activation#IDENTITY} for linear).
     * @param width outputs of the layer, positive
     * @param activation the activation, not null
     * @return this builder
     */
    public ModelBuilder dense(int width, Activation activation) {
        if (activation == null) throw new IllegalArgumentException("activation must not be null (use dense(width) for the default)");
        return add(width, activation);
    }

    private ModelBuilder add(int width, Activation a) {
        if (width <= 0) throw new IllegalArgumentException("dense layer " + (widths.size() + 1) + ": width must be positive, got " + width);
        if (name != null) throw new IllegalStateException("named model " + name + " already has its layers");
        widths.add(width);
        activations.add(a);
        return this;
    }

    /**
     * Drops the biases of every layer.
     * @return this builder
     */
    public ModelBuilder noBias() { bias = false; return this; }

    /**
     * Categorical likelihood on the outputs as logits (softmax cross-entropy); targets one-hot rows.
     * @return this builder
     */
    public ModelBuilder softmax() { return likelihood(Likelihood.softmax()); }

    /**
     * Bernoulli likelihood on the outputs as logits (sigmoid cross-entropy); targets in [0, 1].
     * @return this builder
     */
    public ModelBuilder bernoulli() { return likelihood(Likelihood.bernoulli()); }

    /**
     * Gaussian likelihood with mean the output and fixed standard deviation {@code sigma} (squared error / 2 sigma^2).
     * @param sigma the standard deviation
     * @return this builder
     */
    public ModelBuilder gaussian(float sigma) { return likelihood(Likelihood.gaussian(sigma)); }

    /**
     * Any likelihood of {@link Likelihood} (e.g. a learned Gaussian sigma).
     * @param l the likelihood, not null
     * @return this builder
     */
    public ModelBuilder likelihood(Likelihood l) {
        if (l == null) throw new IllegalArgumentException("likelihood must not be null");
        likelihood = l;
        return this;
    }

    /**
     * Uses a named model of {@link Models} ("mnist-ae", "curves-ae", "faces-ae", "dln"): its layers and likelihood.
     * @param modelName one of the names of {@link Models}
     * @return this builder
     */
    public ModelBuilder named(String modelName) {
        Models.Named n = Models.get(modelName == null ? "" : modelName.trim().toLowerCase(Locale.ROOT));
        if (n == null)
            throw new IllegalArgumentException("unknown model '" + modelName + "' (expected one of " + String.join(", ", Models.all().keySet()) + ")");
        if (input != null || !widths.isEmpty()) throw new IllegalStateException("named(" + modelName + ") on a builder that already has layers");
        name = n.name;
        likelihood = n.likelihood;
        return this;
    }

    /**
     * Opens this backend when the model is built ("auto", "cpu" or "cuda"; default "auto"); the model closes it.
     * @param choice the backend name
     * @return this builder
     */
    public ModelBuilder backend(String choice) {
        if (choice == null || choice.isBlank()) throw new IllegalArgumentException("backend name is empty");
        backendName = choice;
        backend = null;
        return this;
    }

    /**
     * Builds the model on an open backend, which the caller keeps and closes after the model.
     * @param b an open backend
     * @return this builder
     */
    public ModelBuilder backend(Backend b) {
        if (b == null) throw new IllegalArgumentException("backend must not be null");
        backend = b;
        return this;
    }

    /**
     * Seed of the initial weights (W ~ N(0, 1/n_in), biases 0); default 1.
     * @param s the seed
     * @return this builder
     */
    public ModelBuilder seed(long s) { seed = s; return this; }

    /**
     * The architecture these calls describe, checked as the class comment says.
     * @return the architecture
     */
    public MlpSpec spec() {
        if (name != null) return Models.get(name).spec;
        if (input == null) throw new IllegalArgumentException("no input width: call input(width) first, e.g. input(784)");
        if (widths.isEmpty()) throw new IllegalArgumentException("no layers: add at least one dense(width) after input(" + input + ")");
        List<MlpSpec.LayerSpec> layers = new ArrayList<>();
        int prev = input;
        for (int i = 0; i < widths.size(); i++) {
            boolean last = i == widths.size() - 1;
            Activation a = activations.get(i) != null ? activations.get(i) : last ? Activation.IDENTITY : Activation.RELU;
            layers.add(new MlpSpec.LayerSpec(prev, widths.get(i), a, bias));
            prev = widths.get(i);
        }
        MlpSpec spec = new MlpSpec(layers);
        if (likelihood != null) checkOutput(spec, likelihood);
        return spec;
    }

    /** Refuses a non-linear output layer before a likelihood that takes logits (softmax, Bernoulli). */
    static void checkOutput(MlpSpec spec, Likelihood lik) {
        MlpSpec.LayerSpec out = spec.layers().get(spec.layers().size() - 1);
        if (out.activation == Activation.IDENTITY || lik.kind == LikelihoodKind.GAUSSIAN) return;
        throw new IllegalArgumentException("the output layer's " + out.activation.specName() + " feeds the " + lik
                + " likelihood, which takes logits (any real number): make the output layer linear, dense(" + out.out
                + ") or dense(" + out.out + ", Activation.IDENTITY)");
    }

    /**
     * The model: allocates its parameters on the backend and initialises them from the seed.
     * @return the model; close it when done
     */
    public Model build() {
        MlpSpec spec = spec();
        if (likelihood == null)
            throw new IllegalArgumentException("no likelihood: call softmax() (classification), bernoulli() (binary or [0, 1] targets) "
                    + "or gaussian(sigma) (regression)");
        return Model.create(spec, likelihood, name, backend, backendName, seed);
    }
}
