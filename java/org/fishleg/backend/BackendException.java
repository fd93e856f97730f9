package org.fishleg.backend;

/** A backend operation failed (bad shapes, a device error, a closed tensor); the message names the operation. */
public class BackendException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** An error with a one-line message. */
    public BackendException(String message) { super(message); }
    /** An error with a one-line message and its cause. */
    public BackendException(String message, Throwable cause) { super(message, cause); }
}
