package org.fishleg.curvature;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * The generalised Gauss-Newton product (J^T H_out J / N + damping I) z, by one forward pass, one
 * forward-mode (R-op) pass and one backward pass (fishleg-algorithm.md section 3). Deterministic and
 * positive semi-definite; for canonical-link likelihoods it is the Fisher. A learned Gaussian sigma
 * contributes its own Fisher block 2 n_out / sigma^2 (the (f, sigma) cross term has zero expectation).
 */
public final class GaussNewton implements FisherVectorProduct {

    @Override
    public String name() { return "gauss-newton"; }

    @Override
    public void apply(Mlp model, Tensor x, Tensor z, float damping, Tensor out) {
        Backend b = model.backend();
        Mlp.Workspace ws = model.workspace(x.rows());
        int top = model.layerCount() - 1;
        float inv = 1f / x.rows();
        model.forward(ws, x);
        model.rForward(ws, x, z);
        // Rdelta at the top pre-activation: phi'(a_L) o H_out (R f) / N
        b.outputHessianVec(model.likelihood().kind, ws.output(), model.sigma(), ws.rh[top], inv, ws.outTmp);
        b.activationDerivMul(model.layer(top).activation, ws.a[top], ws.outTmp, ws.rd[top]);
        model.backward(ws, x, ws.rd, out);
        if (model.hasSigmaParam()) {
            if (model.likelihood().logSigma) {
                // parameter s = log sigma: E[d^2 NLL / d s^2] = sigma^2 * 2 n_out / sigma^2 = 2 n_out, constant
                b.axpby(2f * model.spec().outputSize(), model.sigmaElement(z), 0f, model.sigmaElement(out));
            } else {
                // E[d^2 NLL / d sigma^2] summed over n_out outputs = 2 n_out / sigma^2
                b.scaleByScalar(model.sigmaElement(z), model.sigma(), -2f, 2f * model.spec().outputSize(), model.sigmaElement(out));
            }
        }
        if (damping != 0f) b.axpy(damping, z, out);
    }
}
