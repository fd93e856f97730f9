package org.fishleg.backend;

/** Elementwise activation functions phi, with the derivatives the backends compute from the pre-activation a. */
public enum Activation {
    /** phi(a) = a. */
    IDENTITY,
    /** phi(a) = max(a, 0); phi'(a) = [a > 0]; phi'' = 0. */
    RELU,
    /** phi(a) = 1 / (1 + e^-a). */
    SIGMOID,
    /** phi(a) = tanh(a). */
    TANH,
    /** phi(a) = log(1 + e^a), computed stably. */
    SOFTPLUS;

    /** Parses names used in model specs: linear/identity, relu, sigmoid, tanh, softplus. */
    public static Activation parse(String s) {
        switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "linear": case "identity": case "id": case "none": return IDENTITY;
            case "relu": return RELU;
            case "sigmoid": case "logistic": return SIGMOID;
            case "tanh": return TANH;
            case "softplus": return SOFTPLUS;
            default:
                throw new IllegalArgumentException("unknown activation '" + s
                        + "' (expected one of linear, relu, sigmoid, tanh, softplus)");
        }
    }

    /** Double-precision reference of phi, used by tests and host-side code. */
    public double apply(double a) {
        switch (this) {
            case IDENTITY: return a;
            case RELU: return a > 0 ? a : 0;
            case SIGMOID: return a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a));
            case TANH: return Math.tanh(a);
            case SOFTPLUS: return Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
            default: throw new AssertionError();
        }
    }

    /** Double-precision reference of phi'. */
    public double derivative(double a) {
        switch (this) {
            case IDENTITY: return 1;
            case RELU: return a > 0 ? 1 : 0;
            case SIGMOID: { double s = SIGMOID.apply(a); return s * (1 - s); }
            case TANH: { double t = Math.tanh(a); return 1 - t * t; }
            case SOFTPLUS: return SIGMOID.apply(a);
            default: throw new AssertionError();
        }
    }

    /** Double-precision reference of phi''. */
    public double secondDerivative(double a) {
        switch (this) {
            case IDENTITY: case RELU: return 0;
            case SIGMOID: { double s = SIGMOID.apply(a); return s * (1 - s) * (1 - 2 * s); }
            case TANH: { double t = Math.tanh(a); return -2 * t * (1 - t * t); }
            case SOFTPLUS: { double s = SIGMOID.apply(a); return s * (1 - s); }
            default: throw new AssertionError();
        }
    }

    /** Name as written in model specs. */
    public String specName() {
        return this == IDENTITY ? "linear" : name().toLowerCase(java.util.Locale.ROOT);
    }
}
