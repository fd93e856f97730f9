package org.fishleg.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.fishleg.backend.Activation;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.MlpSpec;
import org.fishleg.nn.Models;

/** A model picked on the command line: a named model of {@link Models} or a spec string, with its likelihood. */
final class ModelChoice {
    /** The named model, or null for a spec string. */
    final String name;
    final MlpSpec spec;
    final Likelihood likelihood;

    private ModelChoice(String name, MlpSpec spec, Likelihood likelihood) {
        this.name = name;
        this.spec = spec;
        this.likelihood = likelihood;
    }

    /** Label for file names and messages: the model name or "custom". */
    String label() { return name != null ? name : "custom"; }

    boolean softmax() { return likelihood.kind == LikelihoodKind.SOFTMAX; }

    static ModelChoice parse(String model, String likelihood) {
        if (model == null || model.isBlank()) throw new UserException("--model is empty");
        Likelihood lik = null;
        if (likelihood != null) {
            try {
                lik = Likelihood.parse(likelihood);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage());
            }
        }
        String key = model.trim().toLowerCase(Locale.ROOT);
        Models.Named named = Models.get(key);
        if (named != null) return checked(new ModelChoice(named.name, named.spec, lik != null ? lik : named.likelihood));
        if (!key.matches("[0-9].*-.*"))
            throw new UserException("unknown model '" + model + "' (expected one of " + String.join(", ", Models.all().keySet())
                    + ", or a spec such as 784-1000-500-250-30:linear-250-500-1000-784:linear)");
        MlpSpec spec;
        try {
            spec = MlpSpec.parse(model);
        } catch (IllegalArgumentException e) {
            throw new UserException("bad model spec: " + e.getMessage());
        }
        return checked(new ModelChoice(null, spec, lik != null ? lik : Likelihood.bernoulli()));
    }

    /**
     * Bernoulli and softmax likelihoods take logits, any real number: a relu, sigmoid, tanh or softplus
     * output bounds them (a relu output cannot predict p &lt; 1/2 under Bernoulli; on a softmax MNIST
     * classifier it gave 83% accuracy instead of 94%, tracker issue 12), so an explicit non-linear output there is a mistake, named with its fix.
     */
    private static ModelChoice checked(ModelChoice mc) {
        List<MlpSpec.LayerSpec> layers = mc.spec.layers();
        MlpSpec.LayerSpec out = layers.get(layers.size() - 1);
        LikelihoodKind kind = mc.likelihood.kind;
        if (out.activation == Activation.IDENTITY || kind == LikelihoodKind.GAUSSIAN) return mc;
        List<MlpSpec.LayerSpec> fixed = new ArrayList<>(layers);
        fixed.set(fixed.size() - 1, new MlpSpec.LayerSpec(out.in, out.out, Activation.IDENTITY, out.bias));
        throw new UserException("model " + mc.spec + ": the output layer's " + out.activation.specName() + " feeds the "
                + mc.likelihood + " likelihood, which takes logits (any real number); make the output linear: --model "
                + new MlpSpec(fixed));
    }

    String summary() {
        return (name != null ? name + " " : "") + spec + " (" + String.format(Locale.ROOT, "%,d", spec.paramCount()
                + (likelihood.learnSigma ? 1 : 0)) + " parameters), " + likelihood;
    }
}
