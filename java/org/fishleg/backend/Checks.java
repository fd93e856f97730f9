package org.fishleg.backend;

/**
 * Argument checks shared by every backend, so that both give the same error for the same mistake: each
 * names the operation and the shapes involved.
 */
final class Checks {
    private Checks() {}

    /** Throws unless {@code a} and {@code b} have the same shape. */
    public static void sameShape(String op, String na, Tensor a, String nb, Tensor b) {
        if (a.rows() != b.rows() || a.cols() != b.cols())
            throw new BackendException(op + ": shape mismatch, " + na + " is " + a.shape() + " but " + nb + " is " + b.shape());
    }

    /** Throws unless {@code a} and {@code b} have the same number of elements. */
    public static void sameSize(String op, String na, Tensor a, String nb, Tensor b) {
        if (a.size() != b.size())
            throw new BackendException(op + ": size mismatch, " + na + " is " + a.shape() + " (" + a.size() + " elements) but "
                    + nb + " is " + b.shape() + " (" + b.size() + " elements)");
    }

    /** Throws unless {@code t} is a 1x1 device scalar. */
    public static void scalar(String op, String n, Tensor t) {
        if (t.rows() != 1 || t.cols() != 1)
            throw new BackendException(op + ": " + n + " must be a 1x1 device scalar but is " + t.shape());
    }

    /** Throws unless {@code t} is square. */
    public static void square(String op, Tensor t) {
        if (t.rows() != t.cols()) throw new BackendException(op + ": tensor must be square but is " + t.shape());
    }

    /** gram(l, shape, p): l square, p of l's shape and not overlapping it, a triangle shape given. */
    public static void gram(Tensor l, Tensor.Storage sl, Backend.Triangle shape, Tensor p, Tensor.Storage sp) {
        square("gram", l);
        sameShape("gram", "l", l, "p", p);
        if (shape == null) throw new BackendException("gram: null triangle shape");
        if (sl == sp && overlaps(l, p)) throw new BackendException("gram: p " + p + " overlaps l " + l);
    }

    /** True when the element ranges of a and b (in the same storage) intersect. */
    public static boolean overlaps(Tensor a, Tensor b) {
        if (a.size() == 0 || b.size() == 0) return false;
        long a0 = a.offset(), a1 = a0 + a.size(), b0 = b.offset(), b1 = b0 + b.size();
        return a0 < b1 && b0 < a1;
    }

    /** Elementwise ops allow exact aliasing (same storage, same offset) but not a partial overlap. */
    public static void noPartialOverlap(String op, String na, Tensor a, Tensor.Storage sa, String nb, Tensor b, Tensor.Storage sb) {
        if (sa != sb || a.offset() == b.offset()) return;
        if (overlaps(a, b))
            throw new BackendException(op + ": " + na + " " + a + " and " + nb + " " + b + " overlap partially");
    }

    /**
     * The storage of a tensor handed to an op of {@code owner}, of the owner's storage type: rejects null
     * tensors, tensors of another backend, a closed backend, closed or freed storage.
     */
    public static <S extends Tensor.Storage> S storage(String op, Tensor t, Backend owner, boolean ownerClosed, Class<S> type) {
        if (t == null) throw new BackendException(op + ": null tensor");
        if (t.backend() != owner)
            throw new BackendException(op + ": tensor " + t.shape() + " belongs to another backend ("
                    + t.backend().name() + "), not this " + owner.name() + " backend");
        if (ownerClosed) throw new BackendException(op + ": " + owner.name() + " backend is closed");
        Tensor.Storage s;
        try {
            s = t.storage();
        } catch (BackendException e) {
            throw new BackendException(op + ": " + e.getMessage(), e);
        }
        if (!type.isInstance(s))
            throw new BackendException(op + ": tensor " + t.shape() + " has foreign storage " + s.getClass().getName());
        return type.cast(s);
    }

    /**
     * GEMM arguments: C (m x n) = op(A) (m x k) op(B) (k x n); C must not alias A or B.
     * Returns {m, n, k}.
     */
    public static int[] gemm(boolean transA, boolean transB, Tensor a, Tensor.Storage sa, Tensor b, Tensor.Storage sb,
                             Tensor c, Tensor.Storage sc) {
        int m = transA ? a.cols() : a.rows();
        int k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows();
        int n = transB ? b.rows() : b.cols();
        if (k != kb || c.rows() != m || c.cols() != n)
            throw new BackendException("gemm: shape mismatch, op(A) = " + (transA ? "A^T of " : "A ") + a.shape() + " is " + m + "x" + k
                    + ", op(B) = " + (transB ? "B^T of " : "B ") + b.shape() + " is " + kb + "x" + n + ", C is " + c.shape()
                    + " (need C " + m + "x" + n + " and matching inner dimensions)");
        if ((sc == sa && overlaps(c, a)) || (sc == sb && overlaps(c, b)))
            throw new BackendException("gemm: output C " + c + " aliases an input (A " + a + ", B " + b + ")");
        return new int[] {m, n, k};
    }

    /**
     * An elementwise op with two inputs of one shape and an output of that shape, which may alias an
     * input exactly but not overlap it partially.
     */
    public static void twoInOneOut(String op, String na, Tensor a, Tensor.Storage sa, String nb, Tensor b, Tensor.Storage sb,
                                   String no, Tensor out, Tensor.Storage so) {
        sameShape(op, na, a, nb, b);
        sameShape(op, na, a, no, out);
        noPartialOverlap(op, na, a, sa, no, out, so);
        noPartialOverlap(op, nb, b, sb, no, out, so);
    }

    /** The tensors of a fused update (p, g, m[, v]) must be pairwise disjoint and of one shape. */
    public static void fusedUpdate(String op, String[] names, Tensor[] ts, Tensor.Storage[] ss) {
        for (int i = 1; i < ts.length; i++) sameShape(op, names[0], ts[0], names[i], ts[i]);
        for (int i = 0; i < ts.length; i++)
            for (int j = i + 1; j < ts.length; j++)
                if (ss[i] == ss[j] && overlaps(ts[i], ts[j])) {
                    StringBuilder b = new StringBuilder(op).append(": ");
                    for (int t = 0; t < ts.length; t++)
                        b.append(t == 0 ? "" : t == ts.length - 1 ? " and " : ", ").append(names[t]).append(' ').append(ts[t]);
                    throw new BackendException(b.append(" must not overlap").toString());
                }
    }

    /** row is 1 x m.cols and does not overlap m (addRowVector). */
    public static void rowVector(String op, Tensor m, Tensor.Storage sm, Tensor row, Tensor.Storage sr) {
        if (row.rows() != 1 || row.cols() != m.cols())
            throw new BackendException(op + ": row must be 1x" + m.cols() + " for m " + m.shape() + " but is " + row.shape());
        if (sm == sr && overlaps(m, row))
            throw new BackendException(op + ": row " + row + " overlaps m " + m);
    }

    /** out is 1 x m.cols and does not overlap m, except as m itself when m is one row (columnSums). */
    public static void columnSumsOut(String op, Tensor m, Tensor.Storage sm, Tensor out, Tensor.Storage so) {
        if (out.rows() != 1 || out.cols() != m.cols())
            throw new BackendException(op + ": out must be 1x" + m.cols() + " for m " + m.shape() + " but is " + out.shape());
        if (so == sm && overlaps(m, out) && !(m.rows() == 1 && m.offset() == out.offset()))
            throw new BackendException(op + ": out " + out + " overlaps m " + m);
    }

    /**
     * gatherRows arguments: same column count, the index slice [start, start + dst.rows) inside rows, and every
     * index in it a row of src.
     */
    public static void gatherIndices(String op, Tensor src, int[] rows, int start, Tensor dst) {
        if (rows == null) throw new BackendException(op + ": null index array");
        if (src.cols() != dst.cols())
            throw new BackendException(op + ": src " + src.shape() + " and dst " + dst.shape() + " differ in columns");
        if (start < 0 || start + dst.rows() > rows.length)
            throw new BackendException(op + ": index range [" + start + ", " + (start + dst.rows())
                    + ") out of bounds for " + rows.length + " indices");
        for (int j = start; j < start + dst.rows(); j++)
            if (rows[j] < 0 || rows[j] >= src.rows())
                throw new BackendException(op + ": index " + rows[j] + " (at position " + j + ") is not a row of src " + src.shape());
    }

    /** The step count of adamStepAt is a 1x1 scalar outside p, g, m and v. */
    public static void stepScalar(String op, Tensor step, Tensor.Storage sStep, Tensor[] ts, Tensor.Storage[] ss, String[] names) {
        scalar(op, "step", step);
        for (int i = 0; i < ts.length; i++)
            if (ss[i] == sStep && overlaps(ts[i], step))
                throw new BackendException(op + ": the step count " + step + " overlaps " + names[i] + " " + ts[i]);
    }

    /** Every tensor is a 1x1 device scalar. */
    public static void scalars(String op, String[] names, Tensor... ts) {
        for (int i = 0; i < ts.length; i++) scalar(op, names[i], ts[i]);
    }
}
