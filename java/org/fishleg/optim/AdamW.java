package org.fishleg.optim;

import org.fishleg.backend.Backend;
import org.fishleg.nn.Mlp;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter): the Adam update of {@link Adam} on the raw
 * gradient, plus p -= lr wd p outside the adaptive scaling (the torch.optim.AdamW convention, decay
 * multiplied by the learning rate). Default weight decay 1e-2 (torch's default).
 */
public class AdamW extends Adam {
    /** Default decoupled weight decay. */
    public static final float DEFAULT_WEIGHT_DECAY = 1e-2f;

    /**
     * A builder with the library defaults (PyTorch's AdamW): lr 1e-3, betas (0.9, 0.999), eps 1e-8, decoupled weight decay 1e-2.
     * @return a builder of AdamW
     */
    public static AdamBuilder builder() { return new AdamBuilder(true); }

    /**
     * AdamW over a flat vector of {@code size} parameters on {@code backend}.
     * @param backend the backend the parameters live on
     * @param size number of parameters
     * @param lr learning rate
     * @param beta1 first-moment decay rate
     * @param beta2 second-moment decay rate
     * @param eps added to the root of the second moment
     * @param weightDecay decoupled decay coefficient (p -= lr wd p)
     */
    public AdamW(Backend backend, int size, float lr, float beta1, float beta2, float eps, float weightDecay) {
        super(backend, size, lr, beta1, beta2, eps, weightDecay, true);
    }

    /**
     * AdamW over {@code model}'s parameters.
     * @param model the model whose flat parameters are updated
     * @param lr learning rate
     * @param beta1 first-moment decay rate
     * @param beta2 second-moment decay rate
     * @param eps added to the root of the second moment
     * @param weightDecay decoupled decay coefficient (p -= lr wd p)
     */
    public AdamW(Mlp model, float lr, float beta1, float beta2, float eps, float weightDecay) {
        this(model.backend(), model.paramCount(), lr, beta1, beta2, eps, weightDecay);
    }

    @Override public String name() { return "adamw"; }
}
