/**
 * The plots of {@code fishleg plot} and {@code fishleg bench suite}: the metrics CSV reader, loss curves drawn
 * with java.awt and the suite charts drawn with JFreeChart, all headless.
 *
 * <p>Internal to the command-line tool; not API, may change. Not in the published javadoc.
 */
package org.fishleg.plot;
