package org.fishleg.backend;

/**
 * A dense, contiguous, row-major float32 matrix living in memory owned by a {@link Backend}
 * (Java-invisible native memory for the CPU backend, device memory for CUDA).
 *
 * <p>A tensor is either an owner of its storage or a view of another tensor's storage (a range of
 * rows, or a reshaped contiguous region); views share the memory and never free it. Closing the
 * owner frees the memory; using any tensor of that storage afterwards throws. Data reaches the host
 * only through {@link Backend#download} / {@link Backend#readScalar}.
 *
 * <p>Vectors are 1 x n tensors; device-resident scalars are 1 x 1 tensors.
 */
public final class Tensor implements AutoCloseable {

    /** Backend-specific storage. */
    public interface Storage {
        /** Capacity in float elements. */
        long capacity();
        /** Frees the memory (called once, by the owning tensor). */
        void free();
    }

    private final Backend backend;
    private final Storage storage;
    private final Tensor owner; // null when this tensor owns the storage
    private final long offset;
    private final int rows;
    private final int cols;
    private boolean closed;

    /** For backends: wraps freshly allocated storage as an owning tensor. */
    public Tensor(Backend backend, Storage storage, int rows, int cols) {
        if (rows < 0 || cols < 0) throw new BackendException("negative tensor shape " + rows + "x" + cols);
        if ((long) rows * cols > storage.capacity())
            throw new BackendException("storage of " + storage.capacity() + " floats too small for " + rows + "x" + cols);
        this.backend = backend;
        this.storage = storage;
        this.owner = null;
        this.offset = 0;
        this.rows = rows;
        this.cols = cols;
    }

    private Tensor(Tensor root, long offset, int rows, int cols) {
        this.backend = root.backend;
        this.storage = root.storage;
        this.owner = root;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
    }

    /** The backend that owns this tensor's memory. */
    public Backend backend() { return backend; }
    /** Number of rows. */
    public int rows() { return rows; }
    /** Number of columns. */
    public int cols() { return cols; }
    /** Number of elements, rows * cols. */
    public int size() { return rows * cols; }
    /** Offset of element (0,0) in the storage, in floats. */
    public long offset() { return offset; }
    /** True for a view, false for the tensor that owns its storage. */
    public boolean isView() { return owner != null; }

    /** Backend-specific storage; throws if the owning tensor was closed. */
    public Storage storage() {
        if (isClosed()) throw new BackendException("tensor " + shape() + " used after its storage was closed");
        return storage;
    }

    /** True once the owning tensor was closed (for a view: once its owner was). */
    public boolean isClosed() { return owner != null ? owner.isClosed() : closed; }

    /** "rows x cols". */
    public String shape() { return rows + "x" + cols; }

    /** True when {@code o} has the same rows and columns. */
    public boolean sameShape(Tensor o) { return rows == o.rows && cols == o.cols; }

    /** Rows [from, to) as a view. */
    public Tensor rowRange(int from, int to) {
        if (from < 0 || to > rows || from > to)
            throw new BackendException("rowRange(" + from + ", " + to + ") out of bounds for " + shape());
        return new Tensor(root(), offset + (long) from * cols, to - from, cols);
    }

    /** Row i as a 1 x cols view. */
    public Tensor row(int i) { return rowRange(i, i + 1); }

    /**
     * The contiguous region of rows*cols floats starting {@code start} elements into this tensor,
     * viewed as a rows x cols matrix (e.g. a layer's block of a flat parameter vector).
     */
    public Tensor view(long start, int rows, int cols) {
        if (start < 0 || rows < 0 || cols < 0 || start + (long) rows * cols > size())
            throw new BackendException("view(" + start + ", " + rows + "x" + cols + ") out of bounds for " + shape());
        return new Tensor(root(), offset + start, rows, cols);
    }

    /** The same elements with another shape of equal size. */
    public Tensor reshape(int rows, int cols) {
        if ((long) rows * cols != size())
            throw new BackendException("cannot reshape " + shape() + " to " + rows + "x" + cols);
        return view(0, rows, cols);
    }

    private Tensor root() { return owner != null ? owner : this; }

    /** Frees the storage if this tensor owns it; closing a view does nothing. Idempotent. */
    @Override
    public void close() {
        if (owner != null || closed) return;
        closed = true;
        backend.release(this);
    }

    @Override
    public String toString() {
        return "Tensor[" + shape() + (isView() ? ", view@" + offset : "") + ", " + backend.name() + "]";
    }
}
