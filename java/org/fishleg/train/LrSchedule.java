package org.fishleg.train;

import java.util.Locale;

/**
 * A learning-rate schedule: the factor by which step {@code t} (0-based) of a run of {@code T} steps scales the
 * optimizer's base learning rate. The factor depends only on t and T, so a resumed run (same total) continues
 * the schedule exactly.
 *
 * <p>Text form ({@link #parse}, the CLI's {@code --lr-schedule}):
 * <ul>
 *   <li>{@code constant}: factor 1 (the default);</li>
 *   <li>{@code linear} / {@code cosine}, optionally followed by {@code ,start=F} and {@code ,floor=M}: factor 1
 *       until step round(F T) (default F = 0), then a linear or half-cosine decay that would reach M (default 0)
 *       at step T; the last step's factor stays above M, so the learning rate never becomes 0.</li>
 * </ul>
 * Example: {@code linear,start=0.5,floor=0.1} keeps the learning rate for the first half of the run, then
 * lowers it linearly towards a tenth of it.
 */
public final class LrSchedule {

    /** The shape of the decay. */
    public enum Kind {
        /** No change. */
        CONSTANT,
        /** Linear decay. */
        LINEAR,
        /** Half-cosine decay. */
        COSINE
    }

    /** The constant schedule. */
    public static final LrSchedule CONSTANT = new LrSchedule(Kind.CONSTANT, 0, 0);

    private final Kind kind;
    private final double start;
    private final double floor;

    private LrSchedule(Kind kind, double start, double floor) {
        this.kind = kind;
        this.start = start;
        this.floor = floor;
    }

    /**
     * A decaying schedule.
     * @param kind the shape
     * @param start the fraction of the run, in [0, 1), after which the decay begins
     * @param floor the factor the decay would reach at the end of the run, in [0, 1)
     * @return the schedule
     * @throws IllegalArgumentException when start or floor is outside its range
     */
    public static LrSchedule of(Kind kind, double start, double floor) {
        if (kind == null) throw new IllegalArgumentException("schedule kind is null");
        if (kind == Kind.CONSTANT) return CONSTANT;
        if (!(start >= 0 && start < 1)) throw new IllegalArgumentException("learning-rate schedule start must be in [0, 1), got " + start);
        if (!(floor >= 0 && floor < 1)) throw new IllegalArgumentException("learning-rate schedule floor must be in [0, 1), got " + floor);
        return new LrSchedule(kind, start, floor);
    }

    /**
     * Parses the text form (see the class comment).
     * @param text e.g. "constant", "cosine", "linear,start=0.5,floor=0.1"
     * @return the schedule
     * @throws IllegalArgumentException naming what is wrong
     */
    public static LrSchedule parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty learning-rate schedule");
        String[] parts = text.trim().split(",", -1);
        Kind kind;
        switch (parts[0].trim().toLowerCase(Locale.ROOT)) {
            case "constant": kind = Kind.CONSTANT; break;
            case "linear": kind = Kind.LINEAR; break;
            case "cosine": kind = Kind.COSINE; break;
            default: throw new IllegalArgumentException("unknown learning-rate schedule '" + parts[0].trim()
                    + "' (expected constant, linear or cosine, e.g. linear,start=0.5,floor=0.1)");
        }
        if (kind == Kind.CONSTANT && parts.length > 1)
            throw new IllegalArgumentException("the constant learning-rate schedule takes no settings, got '" + text + "'");
        double start = 0, floor = 0;
        boolean haveStart = false, haveFloor = false;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            int eq = p.indexOf('=');
            if (eq < 0) throw new IllegalArgumentException("learning-rate schedule setting '" + p + "' is not NAME=VALUE (start=F or floor=M)");
            String key = p.substring(0, eq).trim().toLowerCase(Locale.ROOT), val = p.substring(eq + 1).trim();
            double v;
            try {
                v = Double.parseDouble(val);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("learning-rate schedule setting " + key + " needs a number, got '" + val + "'");
            }
            switch (key) {
                case "start":
                    if (haveStart) throw new IllegalArgumentException("learning-rate schedule sets start twice");
                    haveStart = true; start = v; break;
                case "floor":
                    if (haveFloor) throw new IllegalArgumentException("learning-rate schedule sets floor twice");
                    haveFloor = true; floor = v; break;
                default: throw new IllegalArgumentException("unknown learning-rate schedule setting '" + key + "' (expected start or floor)");
            }
        }
        return of(kind, start, floor);
    }

    /**
     * The shape.
     * @return the kind
     */
    public Kind kind() { return kind; }

    /**
     * Whether this schedule never changes the learning rate.
     * @return true for the constant schedule
     */
    public boolean isConstant() { return kind == Kind.CONSTANT; }

    /**
     * The factor of step t of a run of total steps.
     * @param t the 0-based index of the step about to be taken, in [0, total)
     * @param total the run's total steps, &gt;= 1
     * @return the factor, in (floor, 1]
     */
    public double factor(long t, long total) {
        if (kind == Kind.CONSTANT) return 1.0;
        if (total < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + total);
        if (t < 0 || t >= total) throw new IllegalArgumentException("step " + t + " is outside a run of " + total + " steps");
        long s0 = Math.round(start * total);
        if (t < s0) return 1.0;
        double p = (double) (t - s0) / (double) (total - s0); // in [0, 1)
        double shape = kind == Kind.LINEAR ? 1 - p : 0.5 * (1 + Math.cos(Math.PI * p));
        return floor + (1 - floor) * shape;
    }

    /** The text form {@link #parse} reads back. */
    @Override
    public String toString() {
        if (kind == Kind.CONSTANT) return "constant";
        return kind.name().toLowerCase(Locale.ROOT) + ",start=" + fmt(start) + ",floor=" + fmt(floor);
    }

    private static String fmt(double v) {
        String s = String.format(Locale.ROOT, "%.6g", v);
        if (s.contains("e") || !s.contains(".")) return s;
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s + "0" : s;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LrSchedule)) return false;
        LrSchedule x = (LrSchedule) o;
        return kind == x.kind && start == x.start && floor == x.floor;
    }

    @Override
    public int hashCode() { return java.util.Objects.hash(kind, start, floor); }
}
