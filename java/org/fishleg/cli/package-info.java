/**
 * The {@code fishleg} command-line tool ({@link org.fishleg.cli.Main}): the {@code train}, {@code bench},
 * {@code info}, {@code fetch-mnist} and {@code plot} commands, their options, progress output and exit codes.
 *
 * <p>Internal to the command-line tool; not API, may change. Library users start at {@link org.fishleg.api}.
 * Not in the published javadoc.
 */
package org.fishleg.cli;
