package org.fishleg.cli;

/** A mistake in the command line or its inputs: printed as one line, exit code 2. */
class UserException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** A mistake described by a one-line message. */
    UserException(String message) { super(message); }
    /** A mistake described by a one-line message, with its cause. */
    UserException(String message, Throwable cause) { super(message, cause); }
}
