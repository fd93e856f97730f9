package org.fishleg.backend.cuda;

import static org.fishleg.backend.cuda.CudaLauncher.addr;

import org.fishleg.backend.Activation;
import org.fishleg.backend.Tensor;

/**
 * Launches of the kernels in cuda/elementwise.cuh (the twin of the CPU backend's CpuElementwise).
 * Arguments arrive checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CudaElementwise {
    private final CudaLauncher k;

    CudaElementwise(CudaLauncher k) { this.k = k; }

    void axpby(float alpha, Tensor x, DeviceBuffer sx, float beta, Tensor y, DeviceBuffer sy) {
        if (y.size() == 0 || (beta == 1f && alpha == 0f)) return;
        k.grid("fl_axpby", y.size(), y.size(), alpha, addr(sx, x), beta, addr(sy, y));
    }

    /** c = beta * c for beta != 0 (GEMM with k == 0 or alpha == 0). */
    void scale(float beta, Tensor c, DeviceBuffer sc) {
        k.grid("fl_axpby", c.size(), c.size(), 0f, addr(sc, c), beta, addr(sc, c));
    }

    void mul(Tensor x, DeviceBuffer sx, Tensor y, DeviceBuffer sy, Tensor out, DeviceBuffer so) {
        if (x.size() == 0) return;
        k.grid("fl_mul", x.size(), x.size(), addr(sx, x), addr(sy, y), addr(so, out));
    }

    void clamp(Tensor x, DeviceBuffer sx, float lo, float hi) {
        if (x.size() == 0) return;
        k.grid("fl_clamp", x.size(), x.size(), addr(sx, x), lo, hi);
    }

    void addRowVector(Tensor m, DeviceBuffer sm, Tensor row, DeviceBuffer sr) {
        if (m.size() == 0) return;
        k.grid("fl_add_row_vector", m.size(), m.rows(), m.cols(), addr(sm, m), addr(sr, row));
    }

    void columnSums(float alpha, Tensor m, DeviceBuffer sm, float beta, Tensor out, DeviceBuffer so) {
        if (m.cols() == 0) return;
        k.blocks2d("fl_column_sums", (m.cols() + 31) / 32, 1, 32, 8,
                m.rows(), m.cols(), alpha, addr(sm, m), beta, addr(so, out));
    }

    void activation(Activation phi, Tensor a, DeviceBuffer sa, Tensor h, DeviceBuffer sh) {
        if (a.size() == 0 || (phi == Activation.IDENTITY && sa == sh && a.offset() == h.offset())) return;
        k.grid("fl_activation", a.size(), a.size(), phi.ordinal(), addr(sa, a), addr(sh, h));
    }

    /** out = phi'(a) o g (kernel fl_activation_deriv_mul) or phi''(a) o g (fl_activation_second_mul). */
    void activationMul(String kernel, Activation phi, Tensor a, DeviceBuffer sa, Tensor g, DeviceBuffer sg, Tensor out,
                       DeviceBuffer so) {
        if (a.size() == 0) return;
        k.grid(kernel, a.size(), a.size(), phi.ordinal(), addr(sa, a), addr(sg, g), addr(so, out));
    }

    void triangularMask(Tensor t, DeviceBuffer s, boolean upper) {
        if (t.size() == 0) return;
        k.grid("fl_triangular_mask", t.size(), t.cols(), addr(s, t), upper ? 1 : 0);
    }

    void setIdentity(Tensor t, DeviceBuffer d, float s) {
        if (t.size() == 0) return;
        k.grid("fl_set_identity", t.size(), t.cols(), addr(d, t), s);
    }

    /** P[i][j] = P[j][i] for j &lt; i of the n x n p. */
    void mirrorUpper(Tensor p, DeviceBuffer sp, int n) {
        k.grid("fl_mirror_upper", p.size(), n, addr(sp, p));
    }

    /** dst.row(j) = src.row(idx[start + j]) with the indices already on the device. */
    void gatherRows(Tensor src, DeviceBuffer ss, DeviceBuffer idx, int start, Tensor dst, DeviceBuffer sd) {
        k.grid("fl_gather_rows", dst.size(), dst.rows(), dst.cols(), src.rows(), addr(ss, src), idx.address(start), addr(sd, dst));
    }

    void copyIntoColumns(Tensor src, DeviceBuffer ss, Tensor dst, DeviceBuffer sd, int col0) {
        if (src.size() == 0) return;
        k.grid("fl_copy_into_columns", src.size(), src.rows(), src.cols(), dst.cols(), col0, addr(ss, src), addr(sd, dst));
    }
}
