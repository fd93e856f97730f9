package org.fishleg.examples;

import java.nio.file.Path;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Mnist;
import org.fishleg.data.Splits;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.fishleg.FishLeg;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.train.DeviceAuxSource;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.IndexStream;

/** Trains a small MNIST auto-encoder with FishLeg through the library API (README.md quotes this file). */
public final class QuickStart {
    public static void main(String[] args) {
        float[] losses = train(Mnist.defaultDir(), 50);
        System.out.printf("batch loss %.1f -> %.1f%n", losses[0], losses[losses.length - 1]);
    }

    /** {@code steps} FishLeg steps on MNIST in {@code mnistDir}; returns each step's batch loss. */
    public static float[] train(Path mnistDir, int steps) {
        Splits mnist = Mnist.load(mnistDir);                   // host arrays; inputs = targets in [0, 1]
        MlpSpec spec = MlpSpec.parse("784-128-32:linear-128-784");  // hidden layers ReLU, output linear
        int batch = 100;
        float[] losses = new float[steps];
        try (Backend b = Backends.open("auto", System.out::println);  // CUDA when usable, else CPU
             DeviceDataset train = DeviceDataset.upload(b, mnist.train());   // one copy on the backend
             Mlp model = new Mlp(b, spec, Likelihood.bernoulli());        // Bernoulli on the logits
             Tensor x = b.zeros(batch, spec.inputSize());
             Tensor loss = b.zeros(1, 1)) {
            model.init(1);
            IndexStream batches = new IndexStream(train.n(), 1);            // seeded shuffle per epoch
            DeviceAuxSource aux = new DeviceAuxSource(b, train.x(), 2);    // FishLeg's auxiliary batches
            try (FishLeg opt = new FishLeg(model, FishLegConfig.preset("ocaml-mnist"), aux)) {
                for (int s = 0; s < steps; s++) {
                    batches.gather(b, train.x(), x);            // next mini-batch, gathered on the backend
                    opt.step(model, x, x, loss);                // auto-encoder: the targets are the inputs
                    losses[s] = b.readScalar(loss);             // the only host copy (optional)
                }
            }
        }
        return losses;
    }
}
