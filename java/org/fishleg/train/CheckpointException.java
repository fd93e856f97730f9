package org.fishleg.train;

/** A checkpoint could not be written, read, or does not fit the run it is resumed into; one-line message. */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /**
     * An error with a one-line message.
     * @param message what went wrong, on one line
     */
    public CheckpointException(String message) { super(message); }
    /**
     * An error with a one-line message and its cause.
     * @param message what went wrong, on one line
     * @param cause the underlying error
     */
    public CheckpointException(String message, Throwable cause) { super(message, cause); }
}
