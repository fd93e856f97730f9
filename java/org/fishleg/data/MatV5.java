package org.fishleg.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A small reader for MATLAB MAT v5 files, enough for numeric matrices: the 128-byte header (text, version,
 * endian indicator "IM"/"MI"), top-level data elements (8-byte tags or 4-byte "small" tags, 8-byte
 * padding), miCOMPRESSED elements inflated with {@link Inflater}, and miMATRIX elements of a numeric class
 * whose real part may be stored in any numeric type (miUINT8 for olivettifaces.mat). Cell, struct, sparse
 * and object arrays are skipped; complex parts are ignored. Errors are {@link DataException}s naming the
 * file and byte offset.
 */
final class MatV5 {
    static final int MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6,
            MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15;
    static final String HEADER_TEXT = "MATLAB 5.0 MAT-file";
    /** Largest inflated miCOMPRESSED element accepted (a few MB for olivettifaces.mat); more is refused, not allocated. */
    static final int MAX_INFLATED = 256 << 20;

    private MatV5() {}

    /** A numeric matrix: MATLAB class id (6 = double), dimensions, and the real part in column-major order. */
    record Matrix(String name, int classId, int[] dims, double[] real) {
        long numel() {
            long m = 1;
            for (int d : dims) m *= d;
            return m;
        }

        @Override
        public String toString() { return printable(name) + " class " + classId + " dims " + Arrays.toString(dims); }
    }

    /** All numeric matrices in the file, in order. */
    static List<Matrix> read(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DataException("cannot read MAT file " + IdxReader.show(file) + " (" + IdxReader.oneLine(e) + ")", e);
        }
        String where = "MAT file " + IdxReader.show(file);
        if (b.length < 128)
            throw new DataException(where + ": truncated header at byte offset " + b.length + ": expected a 128-byte MAT v5 header, found "
                    + b.length + " bytes");
        String text = new String(b, 0, 116, StandardCharsets.ISO_8859_1);
        if (!text.startsWith(HEADER_TEXT))
            throw new DataException(where + ": not a MAT v5 file at byte offset 0: expected text '" + HEADER_TEXT + "', found '"
                    + printable(text.substring(0, Math.min(19, text.length()))) + "'");
        ByteOrder order;
        if (b[126] == 'I' && b[127] == 'M') order = ByteOrder.LITTLE_ENDIAN;
        else if (b[126] == 'M' && b[127] == 'I') order = ByteOrder.BIG_ENDIAN;
        else throw new DataException(where + ": bad endian indicator at byte offset 126: expected 'IM' or 'MI', found '"
                    + printable(new String(b, 126, 2, StandardCharsets.ISO_8859_1)) + "'");
        List<Matrix> out = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.wrap(b).order(order);
        int off = 128;
        while (off + 8 <= b.length) {
            int type = buf.getInt(off);
            int nbytes;
            int dataOff;
            if ((type >>> 16) != 0) {                    // small data element
                nbytes = type >>> 16;
                type &= 0xffff;
                dataOff = off + 4;
                if (nbytes > 4) throw badSmall(where, off, type, nbytes);
            } else {
                nbytes = buf.getInt(off + 4);
                dataOff = off + 8;
            }
            if (nbytes < 0 || (long) dataOff + nbytes > b.length)
                throw new DataException(where + ": truncated data element at byte offset " + off + ": expected " + nbytes
                        + " bytes of type " + type + ", found " + (b.length - dataOff));
            if (type == MI_COMPRESSED) {
                byte[] inflated = inflate(b, dataOff, nbytes, where, off);
                ByteBuffer ib = ByteBuffer.wrap(inflated).order(order);
                String iwhere = where + ", element compressed at byte offset " + off;
                int ioff = 0;
                while (ioff + 8 <= inflated.length) ioff = element(ib, inflated.length, ioff, iwhere, out);
            } else {
                element(buf, b.length, off, where, out);
            }
            off = type == MI_COMPRESSED ? dataOff + nbytes : dataOff == off + 4 ? off + 8 : dataOff + pad8(nbytes);
        }
        return out;
    }

    /** The numeric matrix called {@code name}; a DataException names the variables found otherwise. */
    static Matrix read(Path file, String name) {
        List<Matrix> all = read(file);
        for (Matrix m : all) if (m.name().equals(name)) return m;
        List<String> names = new ArrayList<>();
        for (Matrix m : all) names.add(m.toString());
        throw new DataException("MAT file " + IdxReader.show(file) + ": no numeric variable '" + name + "': expected one, found "
                + (names.isEmpty() ? "none" : String.join(", ", names)));
    }

    private static int pad8(int n) { return (n + 7) & ~7; }

    private static byte[] inflate(byte[] b, int off, int len, String where, int elementOff) {
        Inflater inf = new Inflater();
        try {
            inf.setInput(b, off, len);
            byte[] out = new byte[(int) Math.min(MAX_INFLATED, Math.max(1024, 2L * len))];
            int n = 0;
            while (!inf.finished()) {
                if (n == out.length) {
                    if (n >= MAX_INFLATED)
                        throw new DataException(where + ": compressed element at byte offset " + elementOff + " inflates to more than "
                                + MAX_INFLATED + " bytes, the limit for one element");
                    out = Arrays.copyOf(out, (int) Math.min(MAX_INFLATED, 2L * out.length));
                }
                int r = inf.inflate(out, n, out.length - n);
                if (r == 0 && (inf.needsInput() || inf.needsDictionary()))
                    throw new DataException(where + ": truncated compressed element at byte offset " + elementOff
                            + ": zlib stream of " + len + " bytes ended after " + n + " inflated bytes");
                n += r;
            }
            return Arrays.copyOf(out, n);
        } catch (DataFormatException e) {
            throw new DataException(where + ": corrupt compressed element at byte offset " + elementOff + " ("
                    + IdxReader.oneLine(e) + ")", e);
        } finally {
            inf.end();
        }
    }

    /** Parses the element at {@code off}; adds a numeric matrix to {@code out}; returns the next offset. */
    private static int element(ByteBuffer buf, int limit, int off, String where, List<Matrix> out) {
        int[] tag = tag(buf, limit, off, where);
        int type = tag[0], nbytes = tag[1], dataOff = tag[2], next = tag[3];
        if (type == MI_MATRIX && nbytes > 0) {
            Matrix m = matrix(buf, dataOff, dataOff + nbytes, where);
            if (m != null) out.add(m);
        }
        return next;
    }

    /** {type, nbytes, dataOffset, nextOffset} of the tag at {@code off}. */
    private static int[] tag(ByteBuffer buf, int limit, int off, String where) {
        if (off + 8 > limit)
            throw new DataException(where + ": truncated tag at byte offset " + off + ": expected 8 bytes, found " + (limit - off));
        int type = buf.getInt(off);
        if ((type >>> 16) != 0) {
            // a small data element holds at most 4 bytes in the tag's second word
            if ((type >>> 16) > 4) throw badSmall(where, off, type & 0xffff, type >>> 16);
            return new int[] {type & 0xffff, type >>> 16, off + 4, off + 8};
        }
        int nbytes = buf.getInt(off + 4);
        if (nbytes < 0 || (long) off + 8 + nbytes > limit)
            throw new DataException(where + ": truncated data element at byte offset " + off + ": expected " + nbytes
                    + " bytes of type " + type + ", found " + (limit - off - 8));
        return new int[] {type, nbytes, off + 8, (int) Math.min(limit, (long) off + 8 + pad8(nbytes))};
    }

    private static DataException badSmall(String where, int off, int type, int nbytes) {
        return new DataException(where + ": bad small data element at byte offset " + off + ": expected at most 4 bytes of type "
                + type + ", found a length of " + nbytes);
    }

    private static Matrix matrix(ByteBuffer buf, int start, int end, String where) {
        int[] flags = tag(buf, end, start, where);
        if (flags[0] != MI_UINT32 || flags[1] < 8)
            throw new DataException(where + ": bad array-flags subelement at byte offset " + start + ": expected miUINT32 (6) of 8 bytes, found type "
                    + flags[0] + " of " + flags[1] + " bytes");
        int classId = buf.getInt(flags[2]) & 0xff;
        int[] dimsTag = tag(buf, end, flags[3], where);
        if (dimsTag[0] != MI_INT32)
            throw new DataException(where + ": bad dimensions subelement at byte offset " + flags[3] + ": expected miINT32 (5), found type " + dimsTag[0]);
        int[] dims = new int[dimsTag[1] / 4];
        for (int i = 0; i < dims.length; i++) dims[i] = buf.getInt(dimsTag[2] + 4 * i);
        int[] nameTag = tag(buf, end, dimsTag[3], where);
        byte[] nameBytes = new byte[nameTag[1]];
        buf.get(nameTag[2], nameBytes);
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        String shown = printable(name);   // for messages: a name may hold any byte, a message stays one line
        if (classId < 4 || classId > 15 || classId == 5) return null;   // cell, struct, object, char, sparse: not numeric data here
        long numel = 1;
        for (int d : dims) {
            if (d < 0)
                throw new DataException(where + ": variable '" + shown + "' has a negative dimension " + d + " at byte offset " + dimsTag[2]);
            numel = Math.min(numel * d, Integer.MAX_VALUE);   // saturates: numel * d never exceeds 2^62
        }
        if (numel > Integer.MAX_VALUE - 16)
            throw new DataException(where + ": variable '" + shown + "' too large: " + numel + " elements");
        int[] real = tag(buf, end, nameTag[3], where);
        int size = typeSize(real[0]);
        if (size == 0)
            throw new DataException(where + ": variable '" + shown + "': unsupported real-part type " + real[0] + " at byte offset " + nameTag[3]);
        if ((long) real[1] != numel * size)
            throw new DataException(where + ": variable '" + shown + "' real part at byte offset " + nameTag[3] + ": expected " + numel * size
                    + " bytes (" + numel + " elements of type " + real[0] + "), found " + real[1]);
        double[] v = new double[(int) numel];
        int p = real[2];
        for (int i = 0; i < v.length; i++, p += size) v[i] = value(buf, p, real[0]);
        return new Matrix(name, classId, dims, v);
    }

    private static int typeSize(int type) {
        switch (type) {
            case MI_INT8: case MI_UINT8: return 1;
            case MI_INT16: case MI_UINT16: return 2;
            case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
            case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
            default: return 0;
        }
    }

    private static double value(ByteBuffer buf, int p, int type) {
        switch (type) {
            case MI_INT8: return buf.get(p);
            case MI_UINT8: return buf.get(p) & 0xff;
            case MI_INT16: return buf.getShort(p);
            case MI_UINT16: return buf.getShort(p) & 0xffff;
            case MI_INT32: return buf.getInt(p);
            case MI_UINT32: return buf.getInt(p) & 0xffffffffL;
            case MI_SINGLE: return buf.getFloat(p);
            case MI_DOUBLE: return buf.getDouble(p);
            case MI_INT64: return buf.getLong(p);
            case MI_UINT64: {
                long l = buf.getLong(p);
                return l >= 0 ? l : (double) (l >>> 1) * 2.0 + (l & 1);
            }
            default: throw new IllegalArgumentException("type " + type);
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(c >= 32 && c < 127 ? c : '?');
        return sb.toString();
    }
}
