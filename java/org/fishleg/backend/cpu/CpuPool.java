package org.fishleg.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A tiny fork-join for the CPU backend's loops: {@code threads - 1} daemon workers plus the calling
 * thread claim task indices from a shared counter, so the caller always makes progress even while a
 * worker is still waking up. One job at a time; a caller that finds the pool busy (another backend on
 * another thread, or a nested call) runs its tasks inline. Tasks must not depend on which thread runs
 * them; results that are reduced are combined by the caller in task order, so they are deterministic.
 */
final class CpuPool {

    interface Task { void run(int index); }

    /** Pools by thread count, shared by every CpuBackend: threads are daemons and live for the JVM. */
    private static final java.util.Map<Integer, CpuPool> SHARED = new java.util.HashMap<>();

    /**
     * The JVM-wide pool of {@code threads} threads (including the caller), made on first use; the thread
     * count comes from {@link org.fishleg.backend.BackendOptions#resolvedCpuThreads()}.
     */
    static synchronized CpuPool shared(int threads) {
        return SHARED.computeIfAbsent(Math.max(1, threads), CpuPool::new);
    }

    /** Spin iterations (Thread.onSpinWait) before parking: some microseconds, short so idle workers do not slow OpenBLAS. */
    private static final int SPINS = 500;

    private static final class Job {
        final Task task;
        final int n;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;
        Job(Task task, int n, Thread caller) { this.task = task; this.n = n; this.caller = caller; }
    }

    /** Total parallelism including the caller. */
    final int threads;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Job current;

    private CpuPool(int threads) {
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "fishleg-cpu-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** Runs task(0) .. task(n-1), in parallel when n > 1, and returns when all are done. */
    void run(int n, Task task) {
        if (n <= 0) return;
        if (n == 1 || workers.length == 0 || !lock.tryLock()) {
            for (int i = 0; i < n; i++) task.run(i);
            return;
        }
        try {
            Job j = new Job(task, n, Thread.currentThread());
            current = j;
            int wake = Math.min(n - 1, workers.length);
            for (int i = 0; i < wake; i++) LockSupport.unpark(workers[i]);
            work(j);
            int spins = 0;
            while (j.done.get() < n) {
                if (spins < SPINS) { Thread.onSpinWait(); spins++; }
                else LockSupport.park(this);
            }
            current = null;
            Throwable e = j.error;
            if (e instanceof RuntimeException) throw (RuntimeException) e;
            if (e instanceof Error) throw (Error) e;
            if (e != null) throw new RuntimeException(e);
        } finally {
            lock.unlock();
        }
    }

    private static void work(Job j) {
        int i;
        while ((i = j.next.getAndIncrement()) < j.n) {
            try {
                j.task.run(i);
            } catch (Throwable t) {
                j.error = t;
            } finally {
                if (j.done.incrementAndGet() == j.n) LockSupport.unpark(j.caller);
            }
        }
    }

    private void workerLoop() {
        Job seen = null;
        int spins = 0;
        while (true) {
            Job j = current;
            if (j != null && j != seen) {
                seen = j;
                work(j);
                spins = 0;
                continue;
            }
            if (spins < SPINS) { Thread.onSpinWait(); spins++; }
            else { LockSupport.park(this); }
        }
    }
}
