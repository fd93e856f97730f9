package org.fishleg.backend.cuda;

import org.fishleg.backend.Backend;
import org.fishleg.backend.TestBackends;
import org.junit.jupiter.api.Assumptions;

/**
 * Gate of the CUDA-only tests, through {@link TestBackends} so the whole test JVM shares one CUDA
 * backend and says ONCE why the GPU suite is skipped ("GPU suite skipped: reason"). With
 * FISHLEG_REQUIRE_GPU=1 (scripts/gpu-check.sh) a missing GPU is a failure instead (TestBackends throws).
 */
final class GpuTests {
    private GpuTests() {}

    /** The shared CUDA backend, or the test is skipped (aborted) with the probe's reason. */
    static CudaBackend backend() {
        for (Backend b : TestBackends.list())
            if (b instanceof CudaBackend) return (CudaBackend) b;
        Assumptions.abort("no usable GPU: " + TestBackends.cudaSkipReason());
        throw new AssertionError("unreachable");
    }
}
