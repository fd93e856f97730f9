package org.fishleg.nn;

import java.util.Locale;

/** How {@link Mlp#init(long, WeightInit)} draws a dense layer's weights and biases (n_in = the layer's inputs). */
public enum WeightInit {
    /** W ~ N(0, 1/n_in), biases 0: the FishLeg authors' auto-encoder code and this project's default. */
    NORMAL,
    /**
     * W and biases ~ U(-1/sqrt(n_in), 1/sqrt(n_in)): the default of a PyTorch {@code nn.Linear}, which the
     * published KFAC / K-BFGS auto-encoder runs use (its weight variance is a third of NORMAL's).
     */
    UNIFORM;

    /**
     * The scheme of a CLI name ({@code normal} or {@code uniform}, any case).
     * @param name the name
     * @return the scheme
     * @throws IllegalArgumentException naming the accepted values when the name is neither
     */
    public static WeightInit parse(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "normal": return NORMAL;
            case "uniform": return UNIFORM;
            default: throw new IllegalArgumentException("--weight-init must be normal or uniform, got '" + name + "'");
        }
    }

    /** @return the CLI name */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
