package org.fishleg.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.fishleg.backend.Activation;

/**
 * The architecture of a multi-layer perceptron: input width and, per dense layer, output width,
 * activation and whether it has a bias.
 *
 * <p>Text form: widths separated by '-', each optionally followed by ':activation' naming the
 * activation of the layer that produces that width: {@code linear}, {@code relu}, {@code sigmoid},
 * {@code tanh} or {@code softplus}. The first number is the input and takes none. Without one, a hidden layer is
 * {@code relu} and the output layer {@code linear}, so {@code 784-256-10} gives logits for a softmax or
 * Bernoulli likelihood; write {@code 784-256-10:relu} for a ReLU output. Example:
 * {@code 784-1000-500-250-30:linear-250-500-1000-784}. A trailing {@code /nobias} drops all biases.
 * {@link #toString()} always names the output activation, as specs written before the output default
 * became linear did not ({@code 784-256-10} then meant a ReLU output).
 */
public final class MlpSpec {

    /** One dense layer. */
    public static final class LayerSpec {
        /** Input width. */
        public final int in;
        /** Output width. */
        public final int out;
        /** Activation applied to the layer's output. */
        public final Activation activation;
        /** Whether the layer has a bias (row 0 of its parameter block). */
        public final boolean bias;

        /**
         * A dense layer; throws if a width is not positive or the block does not fit one tensor.
         * @param in input width
         * @param out output width
         * @param activation the activation of the output
         * @param bias whether the layer has a bias
         */
        public LayerSpec(int in, int out, Activation activation, boolean bias) {
            if (in <= 0 || out <= 0) throw new IllegalArgumentException("layer widths must be positive, got " + in + "-" + out);
            long count = ((long) in + (bias ? 1 : 0)) * out;
            if (count > MAX_PARAMS)
                throw new IllegalArgumentException("layer " + in + "-" + out + " has " + count + " parameters; a model holds at most "
                        + MAX_PARAMS + " (one tensor of floats)");
            this.in = in;
            this.out = out;
            this.activation = activation;
            this.bias = bias;
        }

        /**
         * Rows of the layer's parameter block: in + 1 with the bias as row 0, else in.
         * @return the number of block rows
         */
        public int blockRows() { return bias ? in + 1 : in; }

        /**
         * Parameters of the layer: {@link #blockRows()} x out.
         * @return the number of parameters
         */
        public int paramCount() { return blockRows() * out; } // fits: checked in the constructor
    }

    /** The most parameters a model can have: they live in one tensor, indexed by int. */
    public static final long MAX_PARAMS = Integer.MAX_VALUE - 8;

    private final List<LayerSpec> layers;

    /**
     * An MLP of the given layers, each taking the previous one's output width.
     * @param layers the layers, input first
     */
    public MlpSpec(List<LayerSpec> layers) {
        if (layers.isEmpty()) throw new IllegalArgumentException("an MLP needs at least one layer");
        for (int i = 1; i < layers.size(); i++)
            if (layers.get(i).in != layers.get(i - 1).out)
                throw new IllegalArgumentException("layer " + i + " takes " + layers.get(i).in
                        + " inputs but layer " + (i - 1) + " gives " + layers.get(i - 1).out);
        long total = 0;
        for (LayerSpec l : layers) total += (long) l.blockRows() * l.out;
        if (total > MAX_PARAMS)
            throw new IllegalArgumentException("the model has " + total + " parameters; at most " + MAX_PARAMS + " fit in one tensor of floats");
        this.layers = Collections.unmodifiableList(new ArrayList<>(layers));
    }

    /**
     * The layers, input first (unmodifiable).
     * @return the layers
     */
    public List<LayerSpec> layers() { return layers; }
    /**
     * Input width of the first layer.
     * @return the input width
     */
    public int inputSize() { return layers.get(0).in; }
    /**
     * Output width of the last layer.
     * @return the output width
     */
    public int outputSize() { return layers.get(layers.size() - 1).out; }

    /**
     * Total parameters of all layers (a learned sigma not included).
     * @return the number of parameters
     */
    public long paramCount() {
        long n = 0;
        for (LayerSpec l : layers) n += l.paramCount();
        return n;
    }

    /**
     * Parses the text form described in the class comment.
     * @param text the spec, e.g. {@code 784-1000-500-250-30:linear-250-500-1000-784}
     * @return the architecture
     */
    public static MlpSpec parse(String text) {
        String s = text.trim();
        boolean bias = true;
        if (s.toLowerCase(Locale.ROOT).endsWith("/nobias")) {
            bias = false;
            s = s.substring(0, s.length() - "/nobias".length());
        }
        String[] parts = s.split("-");
        if (parts.length < 2)
            throw new IllegalArgumentException("model spec '" + text + "' needs at least two widths, e.g. 784-30:linear");
        List<LayerSpec> layers = new ArrayList<>();
        int prev = -1;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            String widthText = p;
            Activation act = i == parts.length - 1 ? Activation.IDENTITY : Activation.RELU;
            int colon = p.indexOf(':');
            if (colon >= 0) {
                widthText = p.substring(0, colon);
                act = Activation.parse(p.substring(colon + 1));
                if (i == 0) throw new IllegalArgumentException("model spec '" + text + "': the input width takes no activation");
            }
            int w;
            try {
                w = Integer.parseInt(widthText.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("model spec '" + text + "': '" + widthText + "' is not a layer width");
            }
            if (w <= 0) throw new IllegalArgumentException("model spec '" + text + "': width " + w + " must be positive");
            if (i > 0) layers.add(new LayerSpec(prev, w, act, bias));
            prev = w;
        }
        return new MlpSpec(layers);
    }

    /**
     * The text form: hidden activations other than relu and the output activation always (so
     * parse(toString()) gives an equal spec, and the text reads the same under either output default).
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder().append(inputSize());
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec l = layers.get(i);
            b.append('-').append(l.out);
            if (i == layers.size() - 1 || l.activation != Activation.RELU) b.append(':').append(l.activation.specName());
        }
        if (!layers.get(0).bias) b.append("/nobias");
        return b.toString();
    }

    @Override
    public boolean equals(Object o) { return o instanceof MlpSpec && o.toString().equals(toString()); }

    @Override
    public int hashCode() { return toString().hashCode(); }
}
