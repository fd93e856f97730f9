package org.fishleg.experiments;

import static org.junit.jupiter.api.Assertions.*;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.data.Dataset;
import org.fishleg.data.DeepLinearData;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.Models;
import org.junit.jupiter.api.Test;

/** The seeded deep-linear teacher data (paper setting) and its use through {@link Dataset} and {@link Mlp}. */
class DeepLinearDataTest {

    @Test
    void standardShapesAndDeterminism() {
        DeepLinearData a = DeepLinearData.standard(5), b = DeepLinearData.standard(5), c = DeepLinearData.standard(6);
        assertEquals(19, a.depth());
        assertEquals(20, a.width());
        assertEquals(40 * 20, a.xTrain().length);
        assertEquals(40 * 20, a.yTrain().length);
        assertEquals(1000 * 20, a.xTest().length);
        assertArrayEquals(a.xTrain(), b.xTrain());
        assertArrayEquals(a.yTest(), b.yTest());
        assertArrayEquals(a.teacherWeights(), b.teacherWeights());
        assertFalse(java.util.Arrays.equals(a.yTrain(), c.yTrain()));
        Dataset tr = a.train();
        assertEquals(40, tr.n());
        assertEquals(20, tr.d());
        assertEquals(20, tr.k());
        assertFalse(tr.targetsAreInputs());
        assertEquals(a.yTrain()[7 * 20 + 3], tr.y(7, 3));
        assertEquals(1000, a.splits().test().n());
    }

    @Test
    void targetsAreTheTeacherMapPlusNoiseOfTheStatedSize() {
        DeepLinearData d = DeepLinearData.standard(9);
        Models.Named dln = Models.get("dln");
        float[] w = d.teacherWeights();
        try (Backend cpu = new CpuBackend(); Mlp teacher = new Mlp(cpu, dln.spec, dln.likelihood)) {
            float[] p = new float[teacher.paramCount()];
            System.arraycopy(w, 0, p, 0, w.length);
            p[p.length - 1] = 1e-3f;
            cpu.upload(p, teacher.params());
            double ss = 0, sy = 0;
            int count = 0;
            for (boolean train : new boolean[] {true, false}) {
                float[] xs = train ? d.xTrain() : d.xTest(), ys = train ? d.yTrain() : d.yTest();
                int n = xs.length / 20;
                try (Tensor x = cpu.upload(xs, n, 20)) {
                    float[] f = cpu.download(teacher.forward(x));
                    for (int i = 0; i < f.length; i++) {
                        ss += (ys[i] - f[i]) * (double) (ys[i] - f[i]);
                        sy += ys[i] * (double) ys[i];
                    }
                    count += f.length;
                }
            }
            double noise = Math.sqrt(ss / count);
            // 20,800 noise draws of std 1e-3 (plus float32 rounding of the 19-layer product, far smaller)
            assertEquals(1e-3, noise, 5e-5, "residual std of the teacher on its own data");
            assertTrue(sy / count > 1e-4, "targets are not trivially small: mean square " + sy / count);
        }
    }
}
