package org.fishleg.backend.cuda;

import static org.fishleg.backend.cuda.CudaLauncher.addr;

import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * Launches of the kernels in cuda/likelihood.cuh (the twin of CpuLikelihood). Arguments arrive checked by
 * {@link org.fishleg.backend.AbstractBackend}; sigma is the checked 1x1 tensor for GAUSSIAN and its
 * address is 0 for the other kinds.
 */
final class CudaLikelihood {
    private final CudaLauncher k;
    private final DeviceBuffer partials;

    CudaLikelihood(CudaLauncher k, DeviceBuffer partials) {
        this.k = k;
        this.partials = partials;
    }

    /** Device address of the checked sigma for GAUSSIAN, 0 for the other kinds. */
    private static long sigmaAddr(LikelihoodKind kind, Tensor sigma, DeviceBuffer ss) {
        return kind == LikelihoodKind.GAUSSIAN ? addr(ss, sigma) : 0L;
    }

    /** The mean row NLL for f with at least one row. */
    void nll(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma, DeviceBuffer ss,
             Tensor out, DeviceBuffer so) {
        long sg = sigmaAddr(kind, sigma, ss);
        int rows = f.rows();
        int blocks = Kernels.rowBlocks(rows);
        k.blocks("fl_nll_partial", blocks, Kernels.THREADS, kind.ordinal(), rows, f.cols(),
                addr(sf, f), addr(sy, y), sg, partials.address());
        k.blocks("fl_reduce_final", 1, Kernels.THREADS, blocks, partials.address(), 1.0 / rows, addr(so, out));
    }

    void nllGrad(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma, DeviceBuffer ss,
                 float scale, Tensor grad, DeviceBuffer sg) {
        long sig = sigmaAddr(kind, sigma, ss);
        if (f.size() == 0) return;
        k.rows("fl_nll_grad", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), addr(sy, y), sig, scale, addr(sg, grad));
    }

    void gaussianSigmaGrad(Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma, DeviceBuffer ss, float scale,
                           Tensor out, DeviceBuffer so) {
        long sig = sigmaAddr(LikelihoodKind.GAUSSIAN, sigma, ss);
        int n = f.size();
        int blocks = Kernels.reduceBlocks(n);
        k.blocks("fl_reduce_partial", blocks, Kernels.THREADS, CudaReduce.RED_SQDIFF, n, addr(sf, f), addr(sy, y), partials.address());
        k.blocks("fl_sigma_grad_final", 1, Kernels.THREADS, blocks, partials.address(), n, sig, scale, addr(so, out));
    }

    void outputHessianVec(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor sigma, DeviceBuffer ss, Tensor v, DeviceBuffer sv,
                          float scale, Tensor out, DeviceBuffer so) {
        long sig = sigmaAddr(kind, sigma, ss);
        if (f.size() == 0) return;
        k.rows("fl_output_hessian_vec", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), sig, addr(sv, v), scale, addr(so, out));
    }

    void sampleTargets(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor sigma, DeviceBuffer ss, Tensor noise, DeviceBuffer sn,
                       Tensor y, DeviceBuffer sy) {
        long sig = sigmaAddr(kind, sigma, ss);
        if (f.size() == 0) return;
        k.rows("fl_sample_targets", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), sig, addr(sn, noise), addr(sy, y));
    }
}
