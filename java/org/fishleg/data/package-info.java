/**
 * Host-side data sets and where they come from: {@link org.fishleg.data.Dataset} and its
 * {@link org.fishleg.data.Splits}, the real MNIST digits ({@link org.fishleg.data.Mnist}, fetched by
 * {@link org.fishleg.data.MnistFetcher}), the regenerated CURVES and FACES benchmarks, the deep-linear-network
 * teacher, and seeded mini-batches ({@link org.fishleg.data.Batcher}). Every read or verification problem is a
 * {@link org.fishleg.data.DataException} with a one-line message.
 */
package org.fishleg.data;
