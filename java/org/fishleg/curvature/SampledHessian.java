package org.fishleg.curvature;

import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * The paper's Fisher estimator: the exact Hessian-vector product of the mean NLL evaluated on targets
 * freshly sampled from the model p(y | x, theta) at every call (Pearlmutter's R-op of the backward
 * pass, phi'' terms included), plus damping z. Its expectation over the sampled targets is the
 * Gauss-Newton product ({@link GaussNewton}); a single call is noisy and need not be PSD.
 */
public final class SampledHessian implements FisherVectorProduct {

    @Override
    public String name() { return "sampled-hessian"; }

    @Override
    public void apply(Mlp model, Tensor x, Tensor z, float damping, Tensor out) {
        Backend b = model.backend();
        LikelihoodKind kind = model.likelihood().kind;
        Mlp.Workspace ws = model.workspace(x.rows());
        int top = model.layerCount() - 1;
        int n = x.rows();
        float inv = 1f / n;
        Activation actTop = model.layer(top).activation;
        model.forward(ws, x);
        Tensor f = ws.output();

        // y ~ p(y | f) and the ordinary back-propagated errors of the sampled-target loss
        model.sampledErrors(ws);

        model.rForward(ws, x, z);
        Tensor rf = ws.rh[top];

        // R of the output error, at the level of f: H_out R f / N (+ the sigma cross term)
        b.outputHessianVec(kind, f, model.sigma(), rf, inv, ws.outTmp);
        Tensor r = ws.noise; // reused: residual y - f
        if (model.hasSigmaParam()) {
            Tensor zs = model.sigmaElement(z), os = model.sigmaElement(out);
            b.copy(ws.sampled, r);
            b.axpy(-1f, f, r);
            if (model.likelihood().logSigma) {
                // parameter s = log sigma, NLL = r^2 e^-2s / 2 + s: cross term 2 r / sigma^2, d^2/ds^2 = 2 r^2 / sigma^2
                b.scaleByScalar(model.one(), model.sigma(), -2f, 1f, ws.s0);     // s0 = sigma^-2
                b.scalarMulAdd(1f, ws.s0, zs, 0f, ws.s1);                       // s1 = z_s sigma^-2
                b.scaleByScalar(r, ws.s1, 1f, 2f * inv, ws.sampled);          // sampled := 2/N r z_s sigma^-2
                b.axpy(1f, ws.sampled, ws.outTmp);
                // s row: (1/N) [ sum 2 r Rf / sigma^2 + 2 sum r^2 / sigma^2 z_s ]
                b.dot(r, rf, ws.s2);
                b.scalarMulAdd(2f * inv, ws.s2, ws.s0, 0f, ws.s1);
                b.sumSquares(r, ws.s2);
                b.scalarMulAdd(1f, ws.s2, ws.s0, 0f, ws.s2);                    // s2 = sum r^2 sigma^-2
                b.scalarMulAdd(2f * inv, ws.s2, zs, 1f, ws.s1);
            } else {
                b.scaleByScalar(model.one(), model.sigma(), -3f, 1f, ws.s0);     // s0 = sigma^-3
                b.scalarMulAdd(1f, ws.s0, zs, 0f, ws.s1);                       // s1 = z_sigma sigma^-3
                b.scaleByScalar(r, ws.s1, 1f, 2f * inv, ws.sampled);          // sampled (no longer needed) := 2/N r z_s sigma^-3
                b.axpy(1f, ws.sampled, ws.outTmp);
                // sigma row: (1/N) [ sum 2 r Rf / sigma^3 + (3 sum r^2 / sigma^4 - N n_out / sigma^2) z_sigma ]
                b.dot(r, rf, ws.s2);
                b.scalarMulAdd(2f * inv, ws.s2, ws.s0, 0f, ws.s1);              // s1 = sigma row, first term
                b.sumSquares(r, ws.s2);
                b.scaleByScalar(model.one(), model.sigma(), -4f, 1f, ws.s0);    // s0 = sigma^-4
                b.scalarMulAdd(1f, ws.s2, ws.s0, 0f, ws.s2);                    // s2 = sum r^2 sigma^-4
                b.scalarMulAdd(3f * inv, ws.s2, zs, 1f, ws.s1);
                b.scaleByScalar(model.one(), model.sigma(), -2f, 1f, ws.s0);    // s0 = sigma^-2
                b.scalarMulAdd(-(float) model.spec().outputSize(), ws.s0, zs, 1f, ws.s1);
            }
            // written after the backward pass below (which overwrites only layer blocks), kept in s1
        }
        // Rdelta_top = phi'(a) o outTmp + phi''(a) o Ra o outGrad
        b.activationDerivMul(actTop, ws.a[top], ws.outTmp, ws.rd[top]);
        if (hasCurvature(actTop)) {
            b.activationSecondDerivMul(actTop, ws.a[top], ws.outGrad, ws.t[top]);
            b.mul(ws.t[top], ws.ra[top], ws.t[top]);
            b.axpy(1f, ws.t[top], ws.rd[top]);
        }

        for (int l = top; l >= 0; l--) {
            Tensor g = model.block(out, l);
            Tensor gw = model.weightRows(g, l);
            b.gemm(true, false, 1f, Mlp.input(ws, x, l), ws.rd[l], 0f, gw);
            if (l > 0) b.gemm(true, false, 1f, ws.rh[l - 1], ws.d[l], 1f, gw);
            if (model.layer(l).bias) b.columnSums(1f, ws.rd[l], 0f, g.row(0));
            if (l > 0) {
                Activation act = model.layer(l - 1).activation;
                Tensor zb = model.weightRows(model.block(z, l), l);
                Tensor w = model.weightRows(model.weights(l), l);
                b.gemm(false, true, 1f, ws.rd[l], w, 0f, ws.rd[l - 1]);
                b.gemm(false, true, 1f, ws.d[l], zb, 1f, ws.rd[l - 1]);
                b.activationDerivMul(act, ws.a[l - 1], ws.rd[l - 1], ws.rd[l - 1]);
                if (hasCurvature(act)) {
                    Tensor t = ws.t[l - 1];
                    b.gemm(false, true, 1f, ws.d[l], w, 0f, t);
                    b.activationSecondDerivMul(act, ws.a[l - 1], t, t);
                    b.mul(t, ws.ra[l - 1], t);
                    b.axpy(1f, t, ws.rd[l - 1]);
                }
            }
        }
        if (model.hasSigmaParam()) b.copy(ws.s1, model.sigmaElement(out));
        if (damping != 0f) b.axpy(damping, z, out);
    }

    private static boolean hasCurvature(Activation a) { return a != Activation.IDENTITY && a != Activation.RELU; }
}
