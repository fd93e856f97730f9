/**
 * The facade for the common case: build a model ({@link org.fishleg.api.Model#builder()} or
 * {@link org.fishleg.api.Model#named}), pick an optimizer ({@code Adam.builder()}, {@code FishLeg.builder()} or a
 * named recipe of {@link org.fishleg.optim.Recipes}), {@link org.fishleg.api.Model#fit} it on host data sets with
 * per-epoch {@link org.fishleg.api.Evaluator}s, {@link org.fishleg.api.Model#predict}, and
 * {@link org.fishleg.api.Model#save}/{@link org.fishleg.api.Model#load} model and optimizer state as a safetensors
 * checkpoint. Underneath: {@link org.fishleg.nn.Mlp}, {@link org.fishleg.train.Trainer} and the backends.
 */
package org.fishleg.api;
