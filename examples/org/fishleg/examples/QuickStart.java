package org.fishleg.examples;

import org.fishleg.api.Evaluator;
import org.fishleg.api.FitOptions;
import org.fishleg.api.History;
import org.fishleg.api.Model;
import org.fishleg.backend.Activation;
import org.fishleg.data.Mnist;
import org.fishleg.data.Splits;
import org.fishleg.optim.fishleg.FishLeg;

/** Trains a small MNIST auto-encoder with FishLeg through the library API (README.md quotes this file). */
public final class QuickStart {
    public static void main(String[] args) {
        Splits mnist = Mnist.load(Mnist.defaultDir());   // host arrays; inputs = targets, pixels in [0, 1]
        History history = train(mnist, args.length > 0 ? Integer.parseInt(args[0]) : 1);
        System.out.print(history);                       // per epoch: train loss, test loss
    }

    /** Trains a 784-128-32-128-784 auto-encoder with FishLeg on {@code data} for {@code epochs} epochs. */
    public static History train(Splits data, int epochs) {
        try (Model model = Model.builder()
                .input(784).dense(128).dense(32, Activation.IDENTITY).dense(128).dense(784)  // ReLU hidden layers, linear code
                .bernoulli()                                  // pixels as Bernoulli on the logits (output linear)
                .backend("auto").seed(1)                      // CUDA when usable, else the CPU
                .build()) {
            return model.fit(FishLeg.builder().preset("mnist-ae").build(),  // aux batches come from the training set
                    data.train(), data.test(),
                    FitOptions.epochs(epochs).batchSize(100).evaluators(Evaluator.loss()));
        }
    }
}
