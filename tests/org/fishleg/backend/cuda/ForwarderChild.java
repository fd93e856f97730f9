package org.fishleg.backend.cuda;

import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Child-JVM main for {@link CublasForwarderTest}: JCublas2 through the libcublas.so.12 forwarder into
 * a stub libcublas.so.13 whose cublasSgemm_v2 computes on host memory.
 * <ul>
 *   <li>{@code gemm}: row-major GEMMs (all four transpose combinations, sub-view offsets, beta != 0)
 *       through {@link CublasGemm#sgemmRowMajor} checked against a Java reference; prints EXPECT
 *       lines with the exact 14 arguments the stub must have recorded.</li>
 *   <li>{@code missing}: calls a cuBLAS function the stub lacks, which must abort with its name.</li>
 * </ul>
 */
public final class ForwarderChild {
    private ForwarderChild() {}

    private static Pointer at(long address) { return new CUdeviceptr().withByteOffset(address); }

    public static void main(String[] args) {
        NativeLibs.CublasSetup setup = NativeLibs.prepareCublas();
        System.out.println("SETUP_OK=" + setup.ok);
        System.out.println("FORWARDED=" + setup.forwarded);
        System.out.println("DETAIL=" + setup.detail);
        if (!setup.ok) System.exit(2);
        JCublas2.setExceptionsEnabled(false);
        cublasHandle h = new cublasHandle();
        System.out.println("CREATE=" + JCublas2.cublasCreate(h));
        int[] v = new int[1];
        System.out.println("GETVERSION=" + JCublas2.cublasGetVersion(h, v) + " " + v[0]);

        if (args[0].equals("missing")) {
            float[] r = new float[1];
            FloatPointer x = new FloatPointer(4);
            System.out.println("CALLING=cublasSdot");
            System.out.flush();
            JCublas2.cublasSdot(h, 4, at(x.address()), 1, at(x.address()), 1, Pointer.to(r));
            System.out.println("RETURNED"); // must not get here
            return;
        }

        Random rnd = new Random(42);
        int m = 5, n = 3, k = 4;
        float alpha = 1.5f, beta = 0.25f;
        int ok = 0;
        for (int combo = 0; combo < 4; combo++) {
            boolean ta = (combo & 1) != 0, tb = (combo & 2) != 0;
            int aRows = ta ? k : m, aCols = ta ? m : k;
            int bRows = tb ? n : k, bCols = tb ? k : n;
            // one buffer, A, B, C at odd offsets (views), with guard floats between them
            int offA = 3, offB = offA + aRows * aCols + 5, offC = offB + bRows * bCols + 7, total = offC + m * n + 2;
            float[] buf = new float[total];
            for (int i = 0; i < total; i++) buf[i] = (float) rnd.nextGaussian();
            float[] expect = buf.clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        double a = ta ? buf[offA + l * aCols + i] : buf[offA + i * aCols + l];
                        double b = tb ? buf[offB + j * bCols + l] : buf[offB + l * bCols + j];
                        s += a * b;
                    }
                    expect[offC + i * n + j] = (float) (alpha * s + beta * (double) buf[offC + i * n + j]);
                }
            FloatPointer mem = new FloatPointer(total);
            mem.put(buf);
            long base = mem.address();
            int rc = CublasGemm.sgemmRowMajor(h, ta, tb, m, n, k, alpha, at(base + 4L * offA), aCols,
                    at(base + 4L * offB), bCols, beta, at(base + 4L * offC), n);
            float[] got = new float[total];
            mem.get(got);
            double maxErr = 0;
            for (int i = 0; i < total; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - expect[i]));
            System.out.println("GEMM transA=" + ta + " transB=" + tb + " rc=" + rc + " maxErr=" + maxErr);
            if (rc == 0 && maxErr < 1e-5) ok++;
            // column-major call C^T = op(B)^T op(A)^T: (opB, opA, n, m, k, B, ldb = B.cols, A, lda = A.cols, C, ldc = C.cols)
            System.out.println("EXPECT=cublasSgemm_v2 handle=0x5eed transa=" + (tb ? 1 : 0) + " transb=" + (ta ? 1 : 0)
                    + " m=" + n + " n=" + m + " k=" + k + " alpha=1.5 A=0x" + Long.toHexString(base + 4L * offB) + " lda=" + bCols
                    + " B=0x" + Long.toHexString(base + 4L * offA) + " ldb=" + aCols + " beta=0.25 C=0x"
                    + Long.toHexString(base + 4L * offC) + " ldc=" + n);
            mem.close();
        }
        System.out.println("GEMM_OK=" + ok);
        System.out.println("DESTROY=" + JCublas2.cublasDestroy(h));
    }
}
