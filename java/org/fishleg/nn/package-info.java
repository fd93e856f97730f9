/**
 * The networks: a multi-layer perceptron ({@link org.fishleg.nn.Mlp}) with all its trainable scalars in one flat
 * parameter tensor, its architecture ({@link org.fishleg.nn.MlpSpec}, parsed from text such as
 * {@code 784-1000-500-250-30:linear-250-500-1000-784}), its output distribution
 * ({@link org.fishleg.nn.Likelihood}) and the named models of the FishLeg benchmarks
 * ({@link org.fishleg.nn.Models}). Forward, backward and forward-mode (R-op) passes run on a backend.
 */
package org.fishleg.nn;
