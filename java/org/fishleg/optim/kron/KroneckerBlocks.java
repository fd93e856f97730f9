package org.fishleg.optim.kron;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;

/**
 * The per-layer Kronecker-factored preconditioner shared by FishLeg and KFAC: for dense layer l with
 * weight block U_l of shape (n_in + 1) x n_out (bias row 0), M_l(U_l) = Left_l U_l Right_l, i.e. the
 * matrix Left_l (x) Right_l acting on the row-major vec(U_l). FishLeg's Left/Right are P = L^T L and
 * S = R^T R; KFAC's are the damped inverses of its activation and pre-activation factors.
 *
 * <p>Two ways to apply it: {@link #applyDense} on a flat parameter-shaped vector (2 GEMMs per layer,
 * O(n1^2 n2 + n1 n2^2)), and {@link Batch#apply} on a batch gradient G_l = A_l^T Delta_l kept in
 * factored form (A_l = [1, h_{l-1}], Delta_l the back-propagated errors): M_l(G_l) = (A_l Left_l)^T
 * (Delta_l Right_l), O(B (n1^2 + n2^2 + n1 n2)), cheaper for small batches ({@link #lowRankCheaper}).
 *
 * <p>The Left/Right tensors belong to the caller (views into its state); this class keeps only
 * scratch, per batch size until {@link #close} (a captured graph holds their addresses).
 */
public final class KroneckerBlocks implements AutoCloseable {
    private final Mlp model;
    private final Backend b;
    private final int layers;
    private final Tensor[] left, right;
    private final Tensor scratchRect;
    private final Map<Integer, Batch> batches = new HashMap<>();

    /**
     * Blocks over {@code model}'s dense layers with the caller's factors: left[l] is n1 x n1 and right[l]
     * n2 x n2 (n1 = layer l's block rows, n2 its width), read at every apply.
     */
    public KroneckerBlocks(Mlp model, Tensor[] left, Tensor[] right) {
        this.model = model;
        this.b = model.backend();
        this.layers = model.layerCount();
        if (left.length != layers || right.length != layers)
            throw new IllegalArgumentException("need one left and one right factor per layer (" + layers + ")");
        long maxRect = 1;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            int n1 = s.blockRows(), n2 = s.out;
            if (left[l].rows() != n1 || left[l].cols() != n1 || right[l].rows() != n2 || right[l].cols() != n2)
                throw new IllegalArgumentException("layer " + l + ": factors " + left[l].shape() + " and " + right[l].shape()
                        + " do not match its " + n1 + "x" + n2 + " block");
            maxRect = Math.max(maxRect, (long) n1 * n2);
        }
        this.left = left.clone();
        this.right = right.clone();
        this.scratchRect = b.zeros(1, (int) maxRect);
    }

    /**
     * The decay of KFAC's warm-up running means at step k, min(1 - 1/(k+1), cap): 0 at step 0 (the first batch alone),
     * then the plain mean of the batches so far until it reaches cap. Shared by KFAC and FishLeg's KFAC start.
     * @param k the step, from 0
     * @param cap the decay it settles at
     * @return the decay of step k
     */
    public static float warmupDecay(long k, float cap) { return Math.min(1f - 1f / (k + 1), cap); }

    /**
     * Whether KFAC's warm-up schedule of inverses factorises at step k: at every one of the first every + 1 steps, then
     * at every every-th. Shared by KFAC (with its warm-up) and FishLeg's KFAC start.
     * @param k the step, from 0
     * @param every the period of the inverses after the warm-up
     * @return whether step k factorises
     */
    public static boolean warmupInvertsAt(long k, int every) { return k <= every || k % every == 0; }

    /** Number of layer blocks. */
    public int layers() { return layers; }

    /** Layer l's left factor (the caller's tensor). */
    public Tensor left(int l) { return left[l]; }

    /** Layer l's right factor (the caller's tensor). */
    public Tensor right(int l) { return right[l]; }

    /** A scratch tensor of the n1 x n2 shape of layer l's block (shared; valid until the next call of this class). */
    public Tensor scratch(int l) { return scratchRect.view(0, model.layer(l).blockRows(), model.layer(l).out); }

    /**
     * out_l = Left_l in_l Right_l for every layer block of the flat vectors {@code in} and {@code out}
     * (model.paramCount() long; out must not alias in). Elements outside the layer blocks (a learned
     * sigma) are not written.
     */
    public void applyDense(Tensor in, Tensor out) {
        for (int l = 0; l < layers; l++) {
            Tensor ub = model.block(in, l), ob = model.block(out, l);
            Tensor tmp = scratch(l);
            b.gemm(false, false, 1f, ub, right[l], 0f, tmp);
            b.gemm(false, false, 1f, left[l], tmp, 0f, ob);
        }
    }

    /**
     * Whether the factored (low-rank) apply costs fewer operations than the dense one at this batch size:
     * sum_l B (n1^2 + n2^2 + n1 n2) &lt; sum_l (n1^2 n2 + n1 n2^2).
     */
    public boolean lowRankCheaper(int batch) {
        double low = 0, dense = 0;
        for (int l = 0; l < layers; l++) {
            double n1 = model.layer(l).blockRows(), n2 = model.layer(l).out;
            low += batch * (n1 * n1 + n2 * n2 + n1 * n2);
            dense += n1 * n1 * n2 + n1 * n2 * n2;
        }
        return low < dense;
    }

    /** The factored-gradient buffers for one batch size (created on first use, kept until close). */
    public Batch batch(int batchSize) {
        return batches.computeIfAbsent(batchSize, Batch::new);
    }

    /**
     * Factors of a batch gradient G_l = A_l^T Delta_l: A_l = [1, h_{l-1}] (bias column 0 = 1) and Delta_l,
     * copied from the model's work buffers after a backward pass, plus AP = A Left and DS = Delta Right
     * and four B x max(n) scratch buffers for the caller's closed forms.
     */
    public final class Batch implements AutoCloseable {
        /** The batch size. */
        public final int size;
        private final Tensor[] a, delta, ap, ds;
        private final Tensor[] work = new Tensor[4];
        private final List<Tensor> mine = new ArrayList<>();

        private Batch(int size) {
            this.size = size;
            a = new Tensor[layers]; delta = new Tensor[layers]; ap = new Tensor[layers]; ds = new Tensor[layers];
            int maxN = 1;
            for (int l = 0; l < layers; l++) {
                MlpSpec.LayerSpec s = model.layer(l);
                int n1 = s.blockRows(), n2 = s.out;
                maxN = Math.max(maxN, Math.max(n1, n2));
                a[l] = mk(size, n1);
                if (s.bias) for (int i = 0; i < size; i++) b.fill(a[l].row(i).view(0, 1, 1), 1f);
                delta[l] = mk(size, n2);
                ap[l] = mk(size, n1);
                ds[l] = mk(size, n2);
            }
            for (int k = 0; k < work.length; k++) work[k] = mk(1, size * maxN);
        }

        private Tensor mk(int r, int c) {
            Tensor t = b.zeros(r, c);
            mine.add(t);
            return t;
        }

        /** A_l = [1, h_{l-1}] of the last captured batch (B x n1). */
        public Tensor a(int l) { return a[l]; }

        /** Delta_l of the last captured batch (B x n2). */
        public Tensor delta(int l) { return delta[l]; }

        /** A_l Left_l from the last {@link #factors} call (B x n1). */
        public Tensor ap(int l) { return ap[l]; }

        /** Delta_l Right_l from the last {@link #factors} call (B x n2). */
        public Tensor ds(int l) { return ds[l]; }

        /** Scratch buffer k (0..3) of B x max(n) elements, reshaped by the caller with {@code view}. */
        public Tensor work(int k) { return work[k]; }

        /** Copies [1, h_{l-1}] and Delta_l of the model's last backward pass on x (x.rows() == size). */
        public void capture(Tensor x) {
            captureInputs(x);
            Mlp.Workspace ws = model.workspace(x.rows());
            for (int l = 0; l < layers; l++) b.copy(ws.d[l], delta[l]);
        }

        /** Copies only A_l = [1, h_{l-1}] of the model's last forward pass on x (x.rows() == size). */
        public void captureInputs(Tensor x) {
            Mlp.Workspace ws = model.workspace(x.rows());
            for (int l = 0; l < layers; l++) {
                Tensor in = Mlp.input(ws, x, l);
                if (model.layer(l).bias) b.copyIntoColumns(in, a[l], 1);
                else b.copy(in, a[l]);
            }
        }

        /**
         * AP = A Left, DS = Delta Right with the current factors: from the copies made by {@link #capture}
         * when x is null, else straight from the model's work buffers of the last backward pass on x
         * (A Left = [1, h] Left = 1 Left[0, :] + h Left[1:, :], so A itself is not needed).
         */
        public void factors(Tensor x) {
            Mlp.Workspace ws = x == null ? null : model.workspace(x.rows());
            for (int l = 0; l < layers; l++) {
                if (ws == null) {
                    b.gemm(false, false, 1f, a[l], left[l], 0f, ap[l]);
                    b.gemm(false, false, 1f, delta[l], right[l], 0f, ds[l]);
                } else {
                    Tensor in = Mlp.input(ws, x, l);
                    b.gemm(false, false, 1f, in, model.weightRows(left[l], l), 0f, ap[l]);
                    if (model.layer(l).bias) b.addRowVector(ap[l], left[l].row(0));
                    b.gemm(false, false, 1f, ws.d[l], right[l], 0f, ds[l]);
                }
            }
        }

        /** out_l = (A_l Left_l)^T (Delta_l Right_l) = M_l(G_l) for every layer block (sigma element not written). */
        public void apply(Tensor out) {
            for (int l = 0; l < layers; l++) b.gemm(true, false, 1f, ap[l], ds[l], 0f, model.block(out, l));
        }

        @Override
        public void close() {
            for (Tensor t : mine) t.close();
            mine.clear();
        }
    }

    @Override
    public void close() {
        for (Batch f : batches.values()) f.close();
        batches.clear();
        scratchRect.close();
    }
}
