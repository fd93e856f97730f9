package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The learning-rate schedules: their text form, their factors, their errors. */
class LrScheduleTest {

    @Test
    void constantIsOneEverywhere() {
        LrSchedule c = LrSchedule.parse("constant");
        assertSame(LrSchedule.CONSTANT, c);
        assertTrue(c.isConstant());
        for (long t = 0; t < 7; t++) assertEquals(1.0, c.factor(t, 7));
        assertEquals("constant", c.toString());
    }

    @Test
    void linearDecaysFromOneTowardsTheFloorAfterTheStart() {
        LrSchedule s = LrSchedule.parse("linear,start=0.5,floor=0.1");
        // 10 steps, the decay begins at step 5: factors 1 1 1 1 1 | 1 0.82 0.64 0.46 0.28
        double[] want = {1, 1, 1, 1, 1, 1, 0.82, 0.64, 0.46, 0.28};
        for (int t = 0; t < 10; t++) assertEquals(want[t], s.factor(t, 10), 1e-12, "step " + t);
        LrSchedule full = LrSchedule.parse("linear");
        assertEquals(1.0, full.factor(0, 4));
        assertEquals(0.25, full.factor(3, 4), 1e-12, "the last step stays above the floor (0)");
    }

    @Test
    void cosineIsHalfWayAtTheMiddleOfItsSpan() {
        LrSchedule s = LrSchedule.parse("cosine,floor=0.2");
        assertEquals(1.0, s.factor(0, 100), 1e-12);
        assertEquals(0.6, s.factor(50, 100), 1e-12, "floor + (1 - floor) / 2");
        double prev = 2;
        for (int t = 0; t < 100; t++) {
            double f = s.factor(t, 100);
            assertTrue(f <= prev && f > 0.2, "monotone and above the floor at step " + t + ": " + f);
            prev = f;
        }
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.99)), LrSchedule.parse("cosine").factor(99, 100), 1e-12);
    }

    @Test
    void textFormRoundTrips() {
        for (String t : new String[] {"linear,start=0.5,floor=0.1", "cosine,start=0.0,floor=0.0", "cosine,start=0.25,floor=0.01"}) {
            LrSchedule s = LrSchedule.parse(t);
            assertEquals(s, LrSchedule.parse(s.toString()));
        }
        assertEquals("linear,start=0.5,floor=0.1", LrSchedule.parse(" Linear, floor=0.1 ,start=0.5").toString());
    }

    @Test
    void badTextNamesWhatIsWrong() {
        bad("", "empty learning-rate schedule");
        bad("step", "unknown learning-rate schedule 'step'");
        bad("constant,floor=0.1", "the constant learning-rate schedule takes no settings");
        bad("linear,0.5", "is not NAME=VALUE");
        bad("linear,start=half", "setting start needs a number, got 'half'");
        bad("linear,begin=0.5", "unknown learning-rate schedule setting 'begin'");
        bad("linear,start=1", "start must be in [0, 1), got 1.0");
        bad("cosine,floor=-0.1", "floor must be in [0, 1), got -0.1");
        bad("cosine,floor=NaN", "floor must be in [0, 1), got NaN");
        bad("linear,start=0.1,start=0.2", "sets start twice");
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("linear").factor(4, 4));
    }

    private static void bad(String text, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse(text));
        assertTrue(e.getMessage().contains(message), text + " -> " + e.getMessage());
    }
}
