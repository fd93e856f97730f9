package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class CurvesTest {
    @Test
    void deterministicShapesRangeAndInk() {
        Dataset a = Curves.generate(300, 1234L);
        Dataset b = Curves.generate(300, 1234L);
        Dataset c = Curves.generate(300, 1235L);
        assertEquals("regenerated CURVES", a.name());
        assertEquals(300, a.n());
        assertEquals(784, a.d());
        assertTrue(a.targetsAreInputs());
        assertFalse(a.hasLabels());
        float[] xa = a.copyX();
        assertArrayEquals(xa, b.copyX(), "same seed, same images");
        assertFalse(java.util.Arrays.equals(xa, c.copyX()), "another seed, other images");

        int saturated = 0;
        for (int i = 0; i < a.n(); i++) {
            float max = 0;
            int inked = 0;
            for (int j = 0; j < 784; j++) {
                float v = xa[i * 784 + j];
                assertTrue(v >= 0f && v <= 1f, "value " + v + " at image " + i + " pixel " + j);
                max = Math.max(max, v);
                if (v > 0.25f) inked++;
            }
            assertTrue(max > 0.5f, "image " + i + " has ink (max " + max + ")");
            assertTrue(inked >= 10 && inked < 400, "image " + i + " is a stroke, not a blob: " + inked + " inked pixels");
            if (max == 1f) saturated++;
        }
        assertTrue(saturated > a.n() / 2, "straight strokes reach 1 after the gain: " + saturated);
        // the border rows/columns 0 and 27 stay nearly empty (points lie in [3,25])
        for (int i = 0; i < a.n(); i++) assertTrue(xa[i * 784] < 0.05f);
    }

    @Test
    void prefixOfALargerSetIsTheSameImages() {
        Dataset small = Curves.generate(20, 77L);
        Dataset large = Curves.generate(60, 77L);
        float[] s = small.copyX();
        float[] l = large.copyX();
        for (int i = 0; i < s.length; i++) assertEquals(s[i], l[i], 0f);
    }

    @Test
    void standardSplitSizes() {
        assertEquals(20_000, Curves.TRAIN_SIZE);
        assertEquals(10_000, Curves.TEST_SIZE);
        assertNotEquals(Curves.TRAIN_SEED, Curves.TEST_SEED);
        Dataset first = Curves.generate(5, Curves.TRAIN_SEED);
        Dataset firstTest = Curves.generate(5, Curves.TEST_SEED);
        assertFalse(java.util.Arrays.equals(first.copyX(), firstTest.copyX()));
    }
}
