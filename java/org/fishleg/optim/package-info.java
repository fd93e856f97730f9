/**
 * Optimizers: the {@link org.fishleg.optim.Optimizer} contract, the first-order methods (SGD, SGD with momentum,
 * Adam, AdamW) and their builders, the per-model training recipes ({@link org.fishleg.optim.Recipes}), and an
 * optimizer's state as plain data for checkpoints ({@link org.fishleg.optim.OptimizerState}). FishLeg and KFAC
 * live in the subpackages {@link org.fishleg.optim.fishleg} and {@link org.fishleg.optim.kfac}.
 */
package org.fishleg.optim;
