package org.fishleg.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fishleg.backend.Activation;

/** The named models of the FishLeg benchmarks (fishleg-algorithm.md section 6). */
public final class Models {
    private Models() {}

    /** A named architecture with its likelihood. */
    public static final class Named {
        /** Name, e.g. "mnist-ae". */
        public final String name;
        /** Architecture. */
        public final MlpSpec spec;
        /** Likelihood used to train it. */
        public final Likelihood likelihood;
        /** One line for listings. */
        public final String description;
        Named(String name, MlpSpec spec, Likelihood likelihood, String description) {
            this.name = name; this.spec = spec; this.likelihood = likelihood; this.description = description;
        }
    }

    private static final Map<String, Named> NAMED = new LinkedHashMap<>();
    static {
        add("mnist-ae", "784-1000-500-250-30:linear-250-500-1000-784:linear", Likelihood.bernoulli(),
                "MNIST auto-encoder, Bernoulli on logits");
        add("curves-ae", "784-400-200-100-50-25-6:linear-25-50-100-200-400-784:linear", Likelihood.bernoulli(),
                "CURVES auto-encoder, Bernoulli on logits");
        add("faces-ae", "625-2000-1000-500-30:linear-500-1000-2000-625:linear", Likelihood.gaussian(1f),
                "FACES auto-encoder, Gaussian sigma = 1");
        NAMED.put("dln", new Named("dln", deepLinear(19, 20), Likelihood.gaussianLearned(0.1f, 1e-4f, 1f),
                "deep linear network 19 x (20x20), no biases, Gaussian with learned sigma"));
    }

    private static void add(String name, String spec, Likelihood lik, String desc) {
        NAMED.put(name, new Named(name, MlpSpec.parse(spec), lik, desc));
    }

    /**
     * A deep linear network of {@code depth} square layers of width {@code width}, no biases.
     * @param depth number of layers
     * @param width width of every layer
     * @return the architecture
     */
    public static MlpSpec deepLinear(int depth, int width) {
        List<MlpSpec.LayerSpec> ls = new ArrayList<>();
        for (int i = 0; i < depth; i++) ls.add(new MlpSpec.LayerSpec(width, width, Activation.IDENTITY, false));
        return new MlpSpec(ls);
    }

    /**
     * All named models, in listing order (unmodifiable).
     * @return the named models by name
     */
    public static Map<String, Named> all() { return NAMED; }

    /**
     * The named model, or null.
     * @param name a model name
     * @return the named model, or null
     */
    public static Named get(String name) { return NAMED.get(name); }
}
