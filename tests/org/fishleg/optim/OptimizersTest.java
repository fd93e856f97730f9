package org.fishleg.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The factory: names, per-model defaults from the authors' baselines, FishLeg construction, FLOP counts. */
class OptimizersTest {

    @Test
    void defaultsAreTheAuthorsBaselinesAndTheStudiedFishLegPresets() {
        assertEquals(0.03f, Optimizers.defaultLr("momentum", "mnist-ae"));
        assertEquals(1e-4f, Optimizers.defaultLr("adam", "mnist-ae"));
        assertEquals(3e-5f, Optimizers.defaultLr("adam", "faces-ae"));
        assertEquals(2e-4f, Optimizers.defaultLr("adam", "dln"));
        assertEquals(2e-3f, Optimizers.defaultLr("momentum", "dln"));
        assertEquals(0.02f, Optimizers.defaultLr("fishleg", "curves-ae")); // curves-ae: mnist-ae at lr 0.02
        // curves-ae's KFAC: the benchmark form at lr 0.3, damping 1 (scripts/sweep-curves-kfac.sh; stable on three seeds,
        // where lr 0.5 diverged on one); faces-ae keeps the pi split
        assertEquals(0.3f, Optimizers.defaultLr("kfac", "curves-ae"));
        org.fishleg.optim.kfac.KfacConfig kc = Recipes.kfacConfig("curves-ae");
        assertEquals(org.fishleg.optim.kfac.KfacConfig.DampingSplit.NONE, kc.dampingSplit);
        assertEquals(1f, kc.damping);
        assertTrue(kc.warmup);
        assertEquals(org.fishleg.optim.kfac.KfacConfig.DampingSplit.PI, Recipes.kfacConfig("faces-ae").dampingSplit);
        assertEquals(1f, Optimizers.defaultLr("kfac", "mnist-ae"));
        assertEquals("faces-ae", Optimizers.defaultFishLegPreset("faces-ae")); // jax-faces and mnist-ae diverged at batch 1000
        FishLegConfig f = Optimizers.defaultFishLegConfig("faces-ae");
        assertEquals(FishLegConfig.preset("mnist-ae").toBuilder().initScale(1f).auxLr(1e-4f).build().toString(), f.toString());
        assertEquals(0.01f, Optimizers.defaultLr("momentum", "faces-ae"));     // 0.03 diverged at batch 1000
        // mnist-ae: the preset study's winner, ocaml-mnist with full factors and damping 1e-3
        assertEquals("mnist-ae", Optimizers.defaultFishLegPreset("mnist-ae"));
        FishLegConfig m = Optimizers.defaultFishLegConfig("mnist-ae"), o = FishLegConfig.preset("ocaml-mnist");
        assertEquals(0.01f, Optimizers.defaultLr("fishleg", "mnist-ae"));
        assertEquals(FishLegConfig.Factor.FULL, m.factor);
        assertEquals(1e-3f, m.damping);
        assertEquals(o.toBuilder().factor(FishLegConfig.Factor.FULL).damping(1e-3f).build().toString(), m.toString());
        assertEquals(FishLegConfig.Factor.TRIANGULAR, o.factor, "the published preset keeps the authors' values");
        // at batch 1000 and above mnist-ae gets aux lr 3e-3 (batch-1000 probes), at 100 it keeps 1e-3
        assertEquals("mnist-ae", Recipes.fishLegPreset("mnist-ae", 100));
        assertEquals("mnist-ae", Recipes.fishLegPreset("mnist-ae", null));
        assertEquals("mnist-ae-1000", Recipes.fishLegPreset("mnist-ae", 1000));
        assertEquals("curves-ae", Recipes.fishLegPreset("curves-ae", 1000));
        FishLegConfig big = Optimizers.defaultFishLegConfig("mnist-ae", 1000);
        assertEquals(m.toBuilder().auxLr(3e-3f).build().toString(), big.toString());
        try (Backend cpu = org.fishleg.backend.Backends.open("cpu", line -> { });
             Mlp net = new Mlp(cpu, MlpSpec.parse("8-4-8:linear"), Likelihood.bernoulli());
             Optimizer opt = Optimizers.create("fishleg", net, new Optimizers.Options().modelName("mnist-ae").batchSize(1000), x -> { })) {
            assertTrue(opt.describe().contains("aux_lr=0.00300000"), opt.describe());
        }
        assertEquals(0.1f, Optimizers.defaultLr("fishleg", "dln"));
        assertEquals("momentum", Optimizers.canonicalName("SGD-Momentum"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Optimizers.canonicalName("lbfgs"));
        assertTrue(e.getMessage().contains("adamw"), e.getMessage());
    }

    @Test
    void qgVariantChangesOnlyTheOrdering() {
        FishLegConfig c = Optimizers.qgVariant(FishLegConfig.defaults());
        assertEquals(FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT, c.ordering);
        assertEquals(FishLegConfig.AuxDirection.CURRENT_GRADIENT, c.auxDirection);
        assertTrue(c.lowRank);
        assertEquals(FishLegConfig.defaults().lr, c.lr);
        assertEquals(FishLegConfig.defaults().auxBatchSize, c.auxBatchSize);
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void createsEveryOptimizer(Backend b) {
        try (Mlp m = new Mlp(b, MlpSpec.parse("6-4-6:linear"), Likelihood.bernoulli())) {
            m.init(1);
            Optimizers.Options o = new Optimizers.Options().modelName("mnist-ae");
            try (Optimizer s = Optimizers.create("sgd", m, o, null)) { assertInstanceOf(Sgd.class, s); }
            try (Optimizer s = Optimizers.create("momentum", m, o, null)) {
                SgdMomentum sm = assertInstanceOf(SgdMomentum.class, s);
                assertEquals(0.03f, sm.learningRate());
                assertEquals(0.9f, sm.momentum());
                assertEquals(SgdMomentum.Form.EMA, sm.form());
                // FlopCounter: about 6 x batch x weights (+ the update)
                double f = sm.flopsPerStep(100);
                assertTrue(f >= 6.0 * 100 * m.paramCount() && f < 6.5 * 100 * m.paramCount(), "flops " + f);
            }
            try (Optimizer s = Optimizers.create("adam", m, o, null)) {
                Adam a = assertInstanceOf(Adam.class, s);
                assertEquals(1e-4f, a.learningRate());
                assertEquals(0.9f, a.beta2());
                assertEquals(1e-4f, a.eps());
            }
            try (Optimizer s = Optimizers.create("adamw", m, new Optimizers.Options().lr(1e-3f), null)) {
                AdamW a = assertInstanceOf(AdamW.class, s);
                assertTrue(a.decoupled());
                assertEquals(AdamW.DEFAULT_WEIGHT_DECAY, a.weightDecay());
                assertEquals(1e-3f, a.learningRate());
            }
            FishLegConfig small = FishLegConfig.builder().auxBatchSize(4).build();
            try (Tensor pool = b.zeros(10, 6)) {
                b.randUniform(pool);
                try (Optimizer f = Optimizers.create("fishleg", m, new Optimizers.Options().fishLeg(small).lr(0.01f),
                        x -> b.copy(pool.rowRange(0, x.rows()), x))) {
                    assertEquals("fishleg", f.name());
                    assertTrue(f.describe().contains("lr=0.01"), f.describe());
                }
            }
        }
    }

    /** fishleg train's effective defaults stay the papers' (Recipes), whatever the optimizer classes' library defaults are. */
    @org.junit.jupiter.api.Test
    void cliDefaultsAreTheRecipes() {
        try (org.fishleg.backend.Backend b = org.fishleg.backend.Backends.open("cpu", line -> {});
             org.fishleg.nn.Mlp m = new org.fishleg.nn.Mlp(b, org.fishleg.nn.MlpSpec.parse("4-3-4"), org.fishleg.nn.Likelihood.bernoulli())) {
            org.fishleg.optim.fishleg.AuxBatchSource aux = x -> {};
            java.util.Map<String, String> expect = new java.util.LinkedHashMap<>();
            expect.put("adam@mnist-ae", "adam(lr=0.0001, betas=(0.9, 0.9), eps=0.0001, weight_decay=0 in gradient)");
            expect.put("adamw@mnist-ae", "adamw(lr=0.0001, betas=(0.9, 0.9), eps=0.0001, weight_decay=0.01 decoupled)");
            expect.put("adam@faces-ae", "adam(lr=0.00003, betas=(0.9, 0.9), eps=0.0001, weight_decay=0 in gradient)");
            expect.put("adam@dln", "adam(lr=0.0002, betas=(0.9, 0.9), eps=0.0001, weight_decay=0 in gradient)");
            expect.put("momentum@mnist-ae", "momentum(lr=0.03, momentum=0.9, form=ema, weight_decay=0)");
            expect.put("momentum@dln", "momentum(lr=0.002, momentum=0.9, form=ema, weight_decay=0)");
            expect.put("sgd@null", "sgd(lr=0.01, weight_decay=0)");
            expect.put("kfac@mnist-ae", "kfac lr=1.00000 damping=3.00000 split=none statDecay=0.900000 inverseEvery=20 warmup=on momentum=0.900000 wd=1.00000e-05 curvature=sampled");
            expect.put("kfac@dln", "kfac lr=0.100000 damping=3.00000 split=pi statDecay=0.900000 inverseEvery=20 warmup=off momentum=0.900000 wd=1.00000e-05 curvature=sampled");
            expect.put("kfac@faces-ae", "kfac lr=0.100000 damping=3.00000 split=pi statDecay=0.900000 inverseEvery=20 warmup=off momentum=0.900000 wd=1.00000e-05 curvature=sampled");
            for (java.util.Map.Entry<String, String> e : expect.entrySet()) {
                String[] k = e.getKey().split("@");
                String model = k[1].equals("null") ? null : k[1];
                try (Optimizer o = Optimizers.create(k[0], m, new Optimizers.Options().modelName(model), aux);
                     Optimizer r = Recipes.optimizer(k[0], model).create(m, aux)) {
                    assertEquals(e.getValue(), o.describe(), e.getKey());
                    assertEquals(e.getValue(), r.describe(), e.getKey() + " (Recipes.optimizer)");
                }
            }
            // FishLeg: the model's preset; --lr, --weight-decay, --momentum applied once on top of it
            try (Optimizer o = Optimizers.create("fishleg", m, new Optimizers.Options().modelName("mnist-ae"), aux)) {
                assertEquals("fishleg " + FishLegConfig.preset("mnist-ae"), o.describe());
            }
            try (Optimizer o = Optimizers.create("fishleg", m, new Optimizers.Options().modelName("dln").lr(0.02f).weightDecay(1e-3f).momentum(0.8f), aux)) {
                assertEquals("fishleg " + FishLegConfig.preset("dln").toBuilder().lr(0.02f).weightDecay(1e-3f).beta(0.8f).build(), o.describe());
            }
            // the batch-aware recipes: mnist-ae at batch 1000 gets mnist-ae-1000, as the CLI picks it
            try (Optimizer fa = Recipes.fishLeg("mnist-ae", 1000).create(m, aux); Optimizer fb = Recipes.optimizer("fishleg", "mnist-ae", 1000).create(m, aux);
                 Optimizer fc = Recipes.fishLeg("mnist-ae", 100).create(m, aux); Optimizer kd = Recipes.kfac("dln").create(m, aux)) {
                assertEquals("fishleg " + FishLegConfig.preset("mnist-ae-1000"), fa.describe());
                assertEquals(fa.describe(), fb.describe());
                assertEquals("fishleg " + FishLegConfig.preset("mnist-ae"), fc.describe());
                assertEquals(expect.get("kfac@dln"), kd.describe());
            }
            assertEquals(40, Recipes.batchSize("dln"));
            assertEquals("bootstrap", Recipes.sampling("dln"));
            assertEquals(100, Recipes.batchSize("mnist-ae"));
        }
    }
}
