/**
 * The FishLeg paper's deep-linear-network theory experiment: training runs on the deep linear teacher, the
 * exact Fisher of a deep linear network and the exact auxiliary loss, and their plots and tables
 * (docs/RESULTS.md).
 *
 * <p>Internal to the command-line tool and the project's result scripts; not API, may change. Not in the
 * published javadoc.
 */
package org.fishleg.experiments;
