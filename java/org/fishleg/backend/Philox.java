package org.fishleg.backend;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
 * counter-based generator every backend uses, so that a seed gives the same numbers on CPU and GPU.
 * Key = (low, high 32 bits of the seed); counter = (low, high 32 bits of a 64-bit counter, 0, 0).
 */
public final class Philox {
    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    /** 2^-24. */
    public static final float TWO_POW_M24 = 1f / (1 << 24);

    private Philox() {}

    /** Writes the 4 output words for (seed, counter) into out[0..4). */
    public static void block(long seed, long counter, int[] out) {
        block((int) counter, (int) (counter >>> 32), 0, 0, (int) seed, (int) (seed >>> 32), out);
    }

    /**
     * General Philox4x32-10 block: the full 128-bit counter (c0..c3, c0 least significant) and 64-bit
     * key (k0, k1); writes the 4 output words into out[0..4). Used for the published Random123 test
     * vectors, whose counters have nonzero high words; the backends only use {@link #block(long, long, int[])}.
     */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int r = 0; r < 10; r++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            int n0 = hi1 ^ c1 ^ k0;
            int n1 = lo1;
            int n2 = hi0 ^ c3 ^ k1;
            int n3 = lo0;
            c0 = n0; c1 = n1; c2 = n2; c3 = n3;
            k0 += W0; k1 += W1;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    }

    /** Uniform in [0, 1) from one word: (w >>> 8) * 2^-24. */
    public static float uniform(int w) { return (w >>> 8) * TWO_POW_M24; }

    /** Uniform in (0, 1] from one word: ((w >>> 8) + 1) * 2^-24. */
    public static float uniformOpen0(int w) { return ((w >>> 8) + 1) * TWO_POW_M24; }

    /** Box-Muller standard normal from two words, as the backends compute it (float math). */
    public static float normal(int w0, int w1) {
        float u1 = uniformOpen0(w0), u2 = uniform(w1);
        return (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2));
    }
}
