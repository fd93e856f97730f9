package org.fishleg.testutil;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;

/**
 * A CPU twin of CUDA graph capture: a {@link Backend} that forwards every call to a real backend, except
 * inside {@link Backend#captureGraph}, where it records each call (method and arguments, as a stream
 * capture records kernel launches with their parameters) without running it, and {@link Backend.Graph#launch}
 * replays the recording. Calls that CUDA stream capture cannot take (allocation, host copies, waits, RNG
 * resets, closing tensors) throw {@link BackendException} while recording, as on CUDA.
 *
 * <p>Code that is correct under graph replay gives bit-identical results through this backend and
 * directly on the wrapped one; code that bakes a per-step host value into a captured step, or runs
 * host-side work only during capture, does not.
 */
public final class RecordingBackend implements InvocationHandler {
    /** Operations that may not be captured. */
    private static final Set<String> FORBIDDEN = Set.of("zeros", "upload", "download", "readScalar", "synchronize",
            "gatherRows", "setSeed", "setRngState", "rngOffset", "release", "captureGraph", "close");

    private final Backend target;
    private List<Object[]> recording; // {Method, args} while capturing, else null
    private long recordedCalls, replayedCalls, launches;

    private RecordingBackend(Backend target) { this.target = target; }

    /** A backend that behaves like {@code target} and supports recorded graphs. */
    public static Backend wrap(Backend target) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                new RecordingBackend(target));
    }

    /** The handler behind a backend made by {@link #wrap} (for counters). */
    public static RecordingBackend of(Backend wrapped) { return (RecordingBackend) Proxy.getInvocationHandler(wrapped); }

    public long recordedCalls() { return recordedCalls; }
    public long replayedCalls() { return replayedCalls; }
    public long launches() { return launches; }

    @Override
    public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
        String name = m.getName();
        if (m.getDeclaringClass() == Object.class) {
            return switch (name) {
                case "equals" -> proxy == args[0];
                case "hashCode" -> System.identityHashCode(proxy);
                default -> "recording(" + target + ")";
            };
        }
        if (recording != null) {
            if (FORBIDDEN.contains(name))
                throw new BackendException(name + ": not allowed while a graph is being captured (recording backend)");
            if (name.equals("supportsGraphs") || name.equals("name") || name.equals("description") || name.equals("seed")
                    || name.equals("bytesInUse")) return call(m, args);
            recording.add(new Object[] {m, args == null ? null : args.clone()});
            recordedCalls++;
            return null; // every recordable operation returns void
        }
        if (name.equals("supportsGraphs")) return true;
        if (name.equals("captureGraph")) return capture((Runnable) args[0]);
        return call(m, args);
    }

    private Object call(Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private Backend.Graph capture(Runnable work) {
        List<Object[]> rec = new ArrayList<>();
        recording = rec;
        try {
            work.run();
        } finally {
            recording = null;
        }
        return new Backend.Graph() {
            boolean closed;

            @Override
            public void launch() {
                if (closed) throw new BackendException("recorded graph is closed");
                if (recording != null) throw new BackendException("graph launch: not allowed while a graph is being captured");
                launches++;
                for (Object[] c : rec) {
                    try {
                        call((Method) c[0], (Object[]) c[1]);
                    } catch (RuntimeException | Error e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new IllegalStateException(t);
                    }
                    replayedCalls++;
                }
            }

            @Override
            public void close() { closed = true; }
        };
    }
}
