package org.fishleg.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Locale;
import org.bytedeco.openblas.global.openblas_full;
import org.junit.jupiter.api.Test;

/**
 * Which OpenBLAS kernel family the CPU backend runs on. CI reruns the backend op and FishLeg tests with
 * OPENBLAS_CORETYPE set to other x86-64 kernel families (.ci/run) and sets FISHLEG_EXPECT_OPENBLAS_CORE
 * to the same name: this test then proves that the rerun really used that kernel, so a result that only
 * holds for one kernel (e.g. bit-symmetry of a GEMM) fails in CI rather than on a user's machine.
 */
class OpenBlasCoreTest {

    @Test
    void runsOnTheExpectedKernelFamily() {
        new CpuBackend().close(); // loads OpenBLAS the way the backend does
        String core = openblas_full.openblas_get_corename().getString().trim();
        String config = openblas_full.openblas_get_config().getString().trim();
        System.out.println("OpenBLAS core: " + core + " (" + config + ")");
        String expected = System.getenv("FISHLEG_EXPECT_OPENBLAS_CORE");
        if (expected != null && !expected.isBlank())
            assertEquals(expected.trim().toLowerCase(Locale.ROOT), core.toLowerCase(Locale.ROOT),
                    "OPENBLAS_CORETYPE=" + System.getenv("OPENBLAS_CORETYPE") + " did not select that kernel");
    }
}
