package org.fishleg.backend.cuda;

import jcuda.driver.CUdeviceptr;
import org.fishleg.backend.Tensor;

/**
 * Device memory behind a CUDA tensor: a block of the backend's {@link DevicePool}. Closing (or
 * {@link #free()}, which the owning tensor calls) returns the block to the pool; idempotent.
 */
abstract class DeviceBuffer implements Tensor.Storage, AutoCloseable {
    final DevicePool.DevPtr ptr;
    final long classBytes;
    private final long floats;
    private boolean freed;

    DeviceBuffer(DevicePool.DevPtr ptr, long classBytes, long floats) {
        this.ptr = ptr;
        this.classBytes = classBytes;
        this.floats = floats;
    }

    /** Device address of element 0. */
    public long address() { return ptr.address(); }

    /** Device address of element {@code offset} (in floats). */
    public long address(long offset) { return ptr.address() + offset * Float.BYTES; }

    /** A JCuda device pointer at element {@code offset} (for cuBLAS and memcpy calls). */
    public CUdeviceptr pointer(long offset) { return ptr.withByteOffset(offset * Float.BYTES); }

    @Override
    public long capacity() { return floats; }

    /** True once the device memory was freed. */
    public synchronized boolean isFreed() { return freed; }

    @Override
    public synchronized void free() {
        if (freed) return;
        freed = true;
        returnToPool();
    }

    @Override
    public void close() { free(); }

    abstract void returnToPool();
}
