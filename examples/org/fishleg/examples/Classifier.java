package org.fishleg.examples;

import java.nio.file.Path;
import org.fishleg.api.Evaluator;
import org.fishleg.api.FitOptions;
import org.fishleg.api.History;
import org.fishleg.api.Model;
import org.fishleg.backend.Activation;
import org.fishleg.data.Mnist;
import org.fishleg.data.Splits;
import org.fishleg.optim.Adam;

/** A 784-256-10 MNIST classifier: fit with accuracy per epoch, save, load, predict (README.md quotes this file). */
public final class Classifier {
    public static void main(String[] args) {
        Splits mnist = Mnist.classification(Mnist.defaultDir());  // one-hot digit targets, labels kept
        Path file = Path.of("classifier.safetensors");
        History history = train(mnist, args.length > 0 ? Integer.parseInt(args[0]) : 3, file);
        System.out.printf("test accuracy %.4f%n", history.last().test("accuracy"));
        try (Model model = Model.load(file)) {                   // spec, likelihood, weights, optimizer state
            float[][] p = model.predict(mnist.test().slice(0, 1));
            System.out.printf("first test digit: p(label %d) = %.3f%n", mnist.test().label(0), p[0][mnist.test().label(0)]);
        }
    }

    /** Trains the classifier on {@code data} for {@code epochs} epochs and saves it to {@code file} (null: not saved). */
    public static History train(Splits data, int epochs, Path file) {
        try (Model model = Model.builder()
                .input(784).dense(256, Activation.RELU).dense(10)   // the output stays linear: logits
                .softmax()
                .backend("auto").seed(1)
                .build()) {
            History history = model.fit(Adam.builder().build(),    // PyTorch's defaults: lr 1e-3, betas (0.9, 0.999)
                    data.train(), data.test(),
                    FitOptions.epochs(epochs).batchSize(100)
                            .evaluators(Evaluator.loss(), Evaluator.accuracy())
                            .listener(epoch -> System.out.println(epoch)));
            if (file != null) model.save(file);
            return history;
        }
    }
}
