package org.fishleg.backend.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import org.fishleg.backend.BackendException;

/**
 * Caching device allocator: requests are rounded up to a size class (powers of two with four
 * steps each, so at most 25% waste; 512 bytes minimum), freed blocks go to the class's free list
 * and are handed out again without cuMemAlloc. Reuse is safe without events because the backend
 * queues all work on ONE stream: a block released after the kernels that use it were queued is
 * only written again by work queued later on the same stream.
 *
 * <p>{@link #liveBytes()} counts blocks handed out (size-class bytes), {@link #cachedBytes()} the free
 * ones kept for reuse; both are held from the driver. On CUDA_ERROR_OUT_OF_MEMORY the cache is
 * emptied (after a synchronize) and the allocation retried.
 */
final class DevicePool {
    static final long MIN_BLOCK = 512;

    /** A device pointer that knows its own address (JCuda keeps it in a protected field). */
    static final class DevPtr extends CUdeviceptr {
        long address() { return getNativePointer() + getByteOffset(); }
    }

    /** One pooled block, handed out as a tensor's storage. */
    final class Block extends DeviceBuffer {
        Block(DevPtr ptr, long classBytes, long floats) { super(ptr, classBytes, floats); }

        @Override
        void returnToPool() { release(this); }
    }

    private final Runnable synchronize;
    private final Map<Long, ArrayDeque<DevPtr>> free = new HashMap<>();
    private long liveBytes;
    private long cachedBytes;
    private long allocations; // cuMemAlloc calls, for tests ("a training step allocates nothing")
    private boolean closed;

    DevicePool(Runnable synchronize) { this.synchronize = synchronize; }

    /** The size class of a request in bytes. */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        long p = Long.highestOneBit(bytes - 1) << 1;  // next power of two >= bytes
        long step = p / 8;                            // quarters of the octave [p/2, p]
        return ((bytes + step - 1) / step) * step;
    }

    synchronized Block allocate(long floats) {
        if (closed) throw new BackendException("cuda: device pool is closed");
        long bytes = Math.max(1, floats) * Float.BYTES;
        long cls = sizeClass(bytes);
        ArrayDeque<DevPtr> q = free.get(cls);
        DevPtr p = q == null ? null : q.poll();
        if (p != null) {
            cachedBytes -= cls;
        } else {
            p = new DevPtr();
            int rc = cuMemAlloc(p, cls);
            if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                trim();
                rc = cuMemAlloc(p, cls);
            }
            if (rc != CUresult.CUDA_SUCCESS)
                throw new BackendException("cuda: cuMemAlloc(" + cls + " bytes for " + floats + " floats) failed: "
                        + CUresult.stringFor(rc) + " (" + liveBytes + " bytes live)");
            allocations++;
        }
        liveBytes += cls;
        return new Block(p, cls, floats);
    }

    synchronized void release(DeviceBuffer b) {
        liveBytes -= b.classBytes;
        if (closed) {
            cuMemFree(b.ptr);
            return;
        }
        free.computeIfAbsent(b.classBytes, k -> new ArrayDeque<>()).push(b.ptr);
        cachedBytes += b.classBytes;
    }

    /** Frees every cached block (waits for queued work first). */
    synchronized void trim() {
        synchronize.run();
        for (ArrayDeque<DevPtr> q : free.values())
            for (DevPtr p : q) cuMemFree(p);
        free.clear();
        cachedBytes = 0;
    }

    synchronized long liveBytes() { return liveBytes; }

    synchronized long cachedBytes() { return cachedBytes; }

    synchronized long allocations() { return allocations; }

    synchronized void close() {
        if (closed) return;
        trim();
        closed = true;
    }
}
