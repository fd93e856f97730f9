package org.fishleg.data;

/**
 * A data set could not be read, verified, generated or fetched. The message is one line that names the
 * file (and byte offset where it applies), what was expected, what was found, and how to fix it.
 */
public class DataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * An error with a one-line message.
     * @param message what went wrong, on one line
     */
    public DataException(String message) { super(message); }

    /**
     * An error with a one-line message and its cause.
     * @param message what went wrong, on one line
     * @param cause the underlying error
     */
    public DataException(String message, Throwable cause) { super(message, cause); }
}
