/**
 * FishLeg (Garcia et al., ICLR 2023), the Fisher-Legendre second-order optimizer: {@link org.fishleg.optim.fishleg.FishLeg},
 * its hyper-parameters and published presets ({@link org.fishleg.optim.fishleg.FishLegConfig}), its builder, and the
 * source of its auxiliary mini-batches.
 */
package org.fishleg.optim.fishleg;
