/**
 * The benchmarks behind {@code fishleg bench}: the benchmark suites and their summary tables, GEMM throughput
 * of the CPU backend, and the memory soak test.
 *
 * <p>Internal to the command-line tool; not API, may change. Not in the published javadoc.
 */
package org.fishleg.bench;
