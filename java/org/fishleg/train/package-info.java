/**
 * The training loop and what it writes: {@link org.fishleg.train.Trainer} and its
 * {@link org.fishleg.train.TrainerConfig}, batch sampling ({@link org.fishleg.train.Sampling}), data sets resident in
 * backend memory, graph replay of training steps, metrics CSV files, progress callbacks, and exact-resume
 * checkpoints in the safetensors format ({@link org.fishleg.train.Checkpoint}).
 */
package org.fishleg.train;
