package org.fishleg.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.backend.cuda.CudaSupport;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The backends every backend-level test runs against: always the CPU backend, plus the CUDA backend
 * when {@link CudaSupport#probe()} says it is usable. Instances are opened once per test JVM, shared,
 * and closed at JVM exit; tests close the tensors they make.
 *
 * <p>JUnit 5 closes AutoCloseable parameters after each invocation; {@link #arguments()} and
 * {@link #stream()} therefore hand out views of the shared backends whose close() does nothing.
 *
 * <p>Use from JUnit 5 as
 * {@code @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments") void t(Backend b)}.
 * When CUDA is not usable, one line "GPU suite skipped: <reason>" is printed (once). With the environment
 * variable FISHLEG_REQUIRE_GPU=1 (or true/yes) a missing GPU is an error instead of a skip.
 */
public final class TestBackends {
    private TestBackends() {}

    private static List<Backend> backends;
    private static String cudaSkipReason;

    /** The backends to test, CPU first; opened on first use and shared. */
    public static synchronized List<Backend> list() {
        if (backends == null) {
            List<Backend> l = new ArrayList<>();
            l.add(new CpuBackend());
            CudaSupport.Probe p = CudaSupport.probe();
            if (p.usable) {
                // a usable probe whose backend then fails to open is a test failure, not a skip
                l.add(CudaSupport.open());
            } else {
                cudaSkipReason = p.reason;
                if (gpuRequired())
                    throw new IllegalStateException("FISHLEG_REQUIRE_GPU is set but CUDA is not usable: " + p.reason);
                System.out.println("GPU suite skipped: " + p.reason);
            }
            backends = Collections.unmodifiableList(l);
            List<Backend> toClose = backends;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                for (Backend b : toClose) {
                    try { b.close(); } catch (RuntimeException e) { /* exiting anyway */ }
                }
            }, "close-test-backends"));
        }
        return backends;
    }

    /**
     * Arguments for {@code @MethodSource}: one per backend, named by {@link Backend#name()}. JUnit closes
     * AutoCloseable arguments after each invocation, so each backend is passed as a {@link #unclosable}
     * view of the shared instance.
     */
    public static Stream<Arguments> arguments() {
        return list().stream().map(b -> Arguments.of(Named.of(b.name(), unclosable(b))));
    }

    /**
     * The same backend with {@link Backend#close()} doing nothing (every other call is forwarded, and
     * tensors made through it belong to {@code b}).
     */
    public static Backend unclosable(Backend b) {
        InvocationHandler h = (proxy, m, args) -> {
            if (m.getName().equals("close") && m.getParameterCount() == 0) return null;
            if (m.getDeclaringClass() == Object.class) {
                switch (m.getName()) {
                    case "toString": return b.toString();
                    case "hashCode": return System.identityHashCode(proxy);
                    case "equals": return proxy == args[0];
                    default: break;
                }
            }
            try {
                return m.invoke(b, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    /** The backends as a stream of {@link #unclosable} views (for {@code @MethodSource} methods returning {@code Stream<Backend>}). */
    public static Stream<Backend> stream() {
        return list().stream().map(TestBackends::unclosable);
    }

    /** The shared CPU backend. */
    public static Backend cpu() {
        return list().get(0);
    }

    /** True when the CUDA backend is among {@link #list()}. */
    public static boolean cudaAvailable() {
        return list().size() > 1;
    }

    /** Why CUDA is not tested (one line), or null when it is. */
    public static synchronized String cudaSkipReason() {
        list();
        return cudaSkipReason;
    }

    /** FISHLEG_REQUIRE_GPU = 1/true/yes: fail instead of skipping the GPU suite. */
    public static boolean gpuRequired() {
        return CudaSupport.gpuRequired();
    }
}
