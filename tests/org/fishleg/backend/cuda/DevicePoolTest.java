package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Size classes of the caching device allocator (pure arithmetic, no GPU needed). */
class DevicePoolTest {
    @Test
    void sizeClassesRoundUpWithAtMostAQuarterWaste() {
        assertEquals(512, DevicePool.sizeClass(1));
        assertEquals(512, DevicePool.sizeClass(512));
        assertEquals(640, DevicePool.sizeClass(513));
        assertEquals(1024, DevicePool.sizeClass(1000));
        assertEquals(4L << 20, DevicePool.sizeClass(4L << 20));
        long prev = 0;
        for (long b = 1; b < (1L << 26); b = b * 3 / 2 + 7) {
            long c = DevicePool.sizeClass(b);
            assertTrue(c >= b, b + " -> " + c);
            assertTrue(b <= 512 || c <= b * 1.25 + 1, "waste of " + b + " -> " + c);
            assertEquals(c, DevicePool.sizeClass(c), "a class is its own class");
            assertTrue(c >= prev);
            prev = c;
        }
    }
}
