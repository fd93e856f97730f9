package org.fishleg.train;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.Optimizer;

/**
 * Runs training steps on fixed batch tensors, replaying a captured {@link Backend.Graph} for every step
 * whose {@link Optimizer#replayKey} was seen before: one graph launch instead of one launch per kernel
 * and cuBLAS call, which is what the step costs at small batch sizes on a GPU.
 *
 * <p>For each key the first step runs eagerly (it allocates the workspaces of its batch size), the second
 * is captured ({@link Optimizer#enqueueStep} plus {@code after}, e.g. the loss accumulation) and launched,
 * later ones are replays followed by {@link Optimizer#stepQueued}; {@link Optimizer#prepareStep} (host-side
 * preparation such as FishLeg's auxiliary batch) runs before each capture or replay. Steps with a null key
 * always run eagerly (none of the built-in optimizers returns one). A key that never
 * repeats is never captured (e.g. under a learning-rate schedule); at most 8 graphs are
 * kept, the least recently used is dropped first.
 *
 * <p>If a capture fails (an operation that may not be captured, a driver error), nothing of that step has
 * run and no host state has changed: the step runs eagerly, graphs are switched off for the rest of the run
 * and {@code notice} receives one line saying why.
 */
public final class StepGraphs implements AutoCloseable {
    /** Upper bound on distinct captured step kinds (in practice 1 or 2). */
    static final int MAX_GRAPHS = 8;
    /** Keys remembered while waiting for a repeat. */
    private static final int MAX_SEEN = 1024;

    private final Backend backend;
    private final Consumer<String> notice;
    /** Captured graphs by key, least recently used first; the eldest is closed when a new one would exceed MAX_GRAPHS. */
    private final Map<Object, Backend.Graph> graphs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Object, Backend.Graph> eldest) {
            if (size() <= MAX_GRAPHS) return false;
            eldest.getValue().close();
            return true;
        }
    };
    private final Map<Object, Integer> seen = new HashMap<>();
    private boolean enabled;
    private long eagerSteps, replayedSteps, captures;

    /**
     * Graphs are used when {@code enabled} and the backend supports them.
     * @param backend the backend the steps run on
     * @param enabled whether graphs may be used
     * @param notice receives one-line notices (e.g. a failed capture), or null
     */
    public StepGraphs(Backend backend, boolean enabled, Consumer<String> notice) {
        this.backend = backend;
        this.enabled = enabled && backend.supportsGraphs();
        this.notice = notice == null ? s -> { } : notice;
    }

    /** Whether later steps may still be captured or replayed. */
    boolean enabled() { return enabled; }

    /** Steps run operation by operation. */
    long eagerSteps() { return eagerSteps; }

    /**
     * Steps run as one graph launch (including the launch right after each capture).
     * @return the number of replayed steps
     */
    public long replayedSteps() { return replayedSteps; }

    /**
     * Graphs captured.
     * @return the number of captures
     */
    public long captures() { return captures; }

    /**
     * One optimizer step on (x, y) writing the batch loss to {@code loss}, followed by {@code after}
     * (backend work only: it is captured with the step).
     * @param opt the optimizer
     * @param model the model it updates
     * @param x the batch inputs
     * @param y the batch targets
     * @param loss a 1x1 tensor that receives the batch loss
     * @param after backend work to run right after the step (captured with it)
     */
    public void step(Optimizer opt, Mlp model, Tensor x, Tensor y, Tensor loss, Runnable after) {
        Object key = enabled ? opt.replayKey(x.rows()) : null;
        Backend.Graph g = key == null ? null : graphs.get(key);
        if (g == null && (key == null || !seenBefore(key))) {
            opt.step(model, x, y, loss);
            after.run();
            eagerSteps++;
            return;
        }
        opt.prepareStep();
        if (g == null) {
            g = capture(key, opt, model, x, y, loss, after);
            if (g == null) { // nothing was queued and no host state changed by the failed capture
                opt.enqueueStep(model, x, y, loss);
                after.run();
                opt.stepQueued();
                eagerSteps++;
                return;
            }
        }
        g.launch();
        opt.stepQueued();
        replayedSteps++;
    }

    /** Counts a sighting of {@code key}; true from the second one on. */
    private boolean seenBefore(Object key) {
        if (seen.size() >= MAX_SEEN) seen.clear(); // keys that never repeat (an lr schedule)
        return seen.merge(key, 1, Integer::sum) >= 2;
    }

    /** The captured step, or null (graphs then off, with a notice) when it cannot be captured. */
    private Backend.Graph capture(Object key, Optimizer opt, Mlp model, Tensor x, Tensor y, Tensor loss, Runnable after) {
        try {
            Backend.Graph g = backend.captureGraph(() -> {
                opt.enqueueStep(model, x, y, loss);
                after.run();
            });
            graphs.put(key, g);
            seen.remove(key);
            captures++;
            return g;
        } catch (BackendException | UnsupportedOperationException | IllegalStateException e) {
            enabled = false;
            notice.accept("graph capture of the " + opt.name() + " step failed, running operation by operation from now on: "
                    + e.getMessage());
            return null;
        }
    }

    /**
     * One line for logs: how the steps ran.
     * @return the summary
     */
    public String summary() {
        return "graphs: " + replayedSteps + " steps replayed from " + captures + " captured graph" + (captures == 1 ? "" : "s")
                + ", " + eagerSteps + " run operation by operation";
    }

    @Override
    public void close() {
        for (Backend.Graph g : graphs.values()) g.close();
        graphs.clear();
    }
}
