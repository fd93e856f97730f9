package org.fishleg.curvature;

import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/** out = (F + damping I) z for a flat direction z, with F estimated on the input batch x. */
public interface FisherVectorProduct {
    /**
     * x: batch x input width; z, out: flat 1 x P vectors (must not alias).
     * @param model the model, whose parameters F is evaluated at
     * @param x the batch inputs, batch x input width
     * @param z the direction, a flat 1 x P vector
     * @param damping gamma in (F + gamma I)
     * @param out receives the product, a flat 1 x P vector
     */
    void apply(Mlp model, Tensor x, Tensor z, float damping, Tensor out);

    /**
     * Short name for logs ("gauss-newton", "sampled-hessian").
     * @return the name
     */
    String name();
}
