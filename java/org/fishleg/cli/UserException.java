package org.fishleg.cli;

/** A mistake in the command line or its inputs: printed as one line, exit code 2. */
public class UserException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    public UserException(String message) { super(message); }
    public UserException(String message, Throwable cause) { super(message, cause); }
}
