package org.fishleg.optim;

/**
 * A second-order optimizer's curvature estimate broke down numerically (for KFAC: a Kronecker factor that
 * cannot be inverted even with the largest damping shift tried). The parameters are untouched by the failing
 * step. Training loops treat it like a non-finite loss: the run has diverged, and it stops with the message
 * instead of failing as an internal error.
 */
public class CurvatureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * A breakdown with a one-line message.
     * @param message what failed, naming the layer and factor, and what may help
     * @param cause the backend error behind it, or null
     */
    public CurvatureException(String message, Throwable cause) { super(message, cause); }
}
