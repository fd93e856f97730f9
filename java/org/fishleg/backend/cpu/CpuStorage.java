package org.fishleg.backend.cpu;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.Tensor;

/**
 * Off-heap float storage of the CPU backend: zero-filled native memory from {@code calloc} (so OpenBLAS
 * reads it in place, no copies across JNI), seen from Java through a direct, native-order
 * {@link FloatBuffer}. The memory is freed explicitly by {@link #free()} (no GC involvement).
 */
final class CpuStorage implements Tensor.Storage {
    private final long capacity;
    /** Base pointer (position 0, no deallocator); never repositioned: GEMM uses fresh copies. */
    final FloatPointer pointer;
    /** The whole storage as a direct native-order buffer; use absolute get/put only. */
    final FloatBuffer buffer;
    private volatile boolean freed;

    CpuStorage(long capacity) {
        if (capacity < 0 || capacity > Integer.MAX_VALUE - 8)
            throw new BackendException("cpu: cannot allocate " + capacity + " floats (limit " + (Integer.MAX_VALUE - 8) + ")");
        this.capacity = capacity;
        long n = Math.max(1, capacity); // calloc(0) may return NULL
        Pointer raw = Pointer.calloc(n, Float.BYTES);
        if (raw == null || raw.isNull())
            throw new BackendException("cpu: out of native memory allocating " + (n * Float.BYTES) + " bytes");
        FloatPointer fp = new FloatPointer(raw);
        fp.capacity(n);
        fp.limit(n);
        this.pointer = fp;
        this.buffer = fp.asBuffer();
        if (buffer.capacity() != n || !buffer.isDirect() || buffer.order() != java.nio.ByteOrder.nativeOrder())
            throw new BackendException("cpu: unexpected buffer view of native memory: " + buffer);
    }

    @Override public long capacity() { return capacity; }

    boolean isFreed() { return freed; }

    /** The buffer of {@code s} (for the loops: {@code buf(s).get(off(t) + i)}). */
    static FloatBuffer buf(CpuStorage s) { return s.buffer; }

    /** Element (0, 0) of {@code t} in its storage, as an int (CPU storage holds at most 2^31 - 9 floats). */
    static int off(Tensor t) { return (int) t.offset(); }

    @Override
    public synchronized void free() {
        if (freed) return;
        freed = true;
        Pointer.free(pointer);
    }
}
