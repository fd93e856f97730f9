/**
 * The per-layer Kronecker-factored block that FishLeg applies as its Q and KFAC as its inverse factors,
 * shared by {@link org.fishleg.optim.fishleg} and {@link org.fishleg.optim.kfac}.
 *
 * <p>Internal to the second-order optimizers (public only because two packages share it);
 * not API, may change. Not in the published javadoc.
 */
package org.fishleg.optim.kron;
