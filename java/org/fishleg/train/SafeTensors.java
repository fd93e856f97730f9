package org.fishleg.train;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A strict reader and an atomic writer of the safetensors format (https://huggingface.co/docs/safetensors):
 * 8 bytes little-endian header length N, N bytes of UTF-8 JSON
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}},
 * then the byte buffer, tensors little-endian, offsets relative to the buffer start.
 *
 * <p>{@link #read} checks the structure before it allocates anything sized by the file: the header length
 * against the file size, well-formed UTF-8 JSON, known dtypes, shapes whose element count times the dtype
 * size is the tensor's byte length, offsets that tile the buffer from 0 without gap or overlap, and a buffer
 * that ends exactly at the end of the file. Any failure is a {@link Format} exception with a one-line reason.
 * What the tensors mean is the caller's business ({@link Checkpoint}).
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Largest header accepted (the reference implementation's limit). */
    static final long MAX_HEADER = 100L << 20;
    /** Largest single tensor read into one Java array. */
    static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    /** A structural problem with a file; the message is one line without the file name. */
    public static final class Format extends Exception {
        private static final long serialVersionUID = 1L;
        Format(String message) { super(message); }
    }

    /** One tensor: dtype ("F32", "F64", "I64", ...), shape and its little-endian bytes. */
    public static final class Entry {
        final String dtype;
        /** The dimensions, outermost first. */
        public final long[] shape;
        /** The raw little-endian bytes. */
        public final byte[] data;

        /**
         * A tensor from its raw bytes.
         * @param dtype the safetensors dtype, e.g. "F32"
         * @param shape the dimensions (copied)
         * @param data the little-endian bytes (not copied)
         */
        public Entry(String dtype, long[] shape, byte[] data) {
            this.dtype = dtype;
            this.shape = shape.clone();
            this.data = data;
        }

        /**
         * An F32 tensor.
         * @param v the values, row-major
         * @param shape the dimensions
         * @return the tensor
         */
        public static Entry f32(float[] v, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            return new Entry("F32", shape, b.array());
        }

        /**
         * An I64 tensor.
         * @param v the values, row-major
         * @param shape the dimensions
         * @return the tensor
         */
        public static Entry i64(long[] v, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(v);
            return new Entry("I64", shape, b.array());
        }

        /**
         * The number of elements, the product of the dimensions.
         * @return the element count
         */
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        /**
         * The values of an F32 tensor.
         * @return the values, row-major
         * @throws IllegalStateException when the tensor is not F32
         */
        public float[] floats() {
            if (!dtype.equals("F32")) throw new IllegalStateException("tensor is " + dtype + ", not F32");
            float[] v = new float[data.length / 4];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return v;
        }

        /**
         * The values of an I64 tensor.
         * @return the values, row-major
         * @throws IllegalStateException when the tensor is not I64
         */
        public long[] longs() {
            if (!dtype.equals("I64")) throw new IllegalStateException("tensor is " + dtype + ", not I64");
            long[] v = new long[data.length / 8];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
            return v;
        }

        String shapeText() { return Arrays.toString(shape); }
    }

    /** Tensors in file order and the string metadata. */
    public static final class Contents {
        /** The tensors by name, in file order. */
        public final LinkedHashMap<String, Entry> tensors = new LinkedHashMap<>();
        /** The string metadata ("__metadata__"), in file order. */
        public final LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
    }

    /** Bytes per element of a dtype, 0 when unknown. */
    static int dtypeSize(String dtype) {
        switch (dtype) {
            case "BOOL": case "U8": case "I8": case "F8_E4M3": case "F8_E5M2": return 1;
            case "I16": case "U16": case "F16": case "BF16": return 2;
            case "I32": case "U32": case "F32": return 4;
            case "I64": case "U64": case "F64": return 8;
            default: return 0;
        }
    }

    // ------------------------------------------------------------------ writing

    /** Random suffixes of the temporary files {@link #write} renames into place. */
    private static final java.security.SecureRandom TMP_NAMES = new java.security.SecureRandom();

    /**
     * Writes {@code c} to {@code file} atomically and durably: a temporary file of its own in the same folder, written,
     * forced to disk, renamed over {@code file}, then the folder forced so the rename itself survives a crash.
     * @param c the tensors and metadata
     * @param file where to write
     * @throws IOException when writing fails
     */
    public static void write(Contents c, Path file) throws IOException {
        byte[] header = header(c);
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        // a fresh name per write: two writers of the same file (runs sharing a checkpoint folder) never share a temporary
        // (named here rather than by Files.createTempFile, whose owner-only permissions the checkpoint would keep)
        Path tmp = abs.resolveSibling(abs.getFileName() + "." + Long.toUnsignedString(TMP_NAMES.nextLong(), 36) + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry e : c.tensors.values()) writeFully(ch, ByteBuffer.wrap(e.data));
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
            throw e;
        }
        if (dir != null) {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException ignored) {
                // some file systems cannot open or force a folder; the file itself is on disk
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** The JSON header of {@code c}, padded with spaces to a multiple of 8 bytes. */
    static byte[] header(Contents c) {
        StringBuilder s = new StringBuilder("{");
        long off = 0;
        for (Map.Entry<String, Entry> t : c.tensors.entrySet()) {
            Entry e = t.getValue();
            if (dtypeSize(e.dtype) == 0) throw new IllegalArgumentException("unknown dtype " + e.dtype);
            if (e.elements() * dtypeSize(e.dtype) != e.data.length)
                throw new IllegalArgumentException("tensor " + t.getKey() + ": shape " + e.shapeText() + " does not match "
                        + e.data.length + " bytes of " + e.dtype);
            if (s.length() > 1) s.append(',');
            quote(s, t.getKey());
            s.append(":{\"dtype\":");
            quote(s, e.dtype);
            s.append(",\"shape\":[");
            for (int i = 0; i < e.shape.length; i++) s.append(i > 0 ? "," : "").append(e.shape[i]);
            s.append("],\"data_offsets\":[").append(off).append(',').append(off + e.data.length).append("]}");
            off += e.data.length;
        }
        if (!c.metadata.isEmpty()) {
            if (s.length() > 1) s.append(',');
            s.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> m : c.metadata.entrySet()) {
                if (!first) s.append(',');
                first = false;
                quote(s, m.getKey());
                s.append(':');
                quote(s, m.getValue());
            }
            s.append('}');
        }
        s.append('}');
        while (s.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) s.append(' ');
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Appends {@code v} as a JSON string.
     * @param s where to append
     * @param v the string
     */
    public static void quote(StringBuilder s, String v) {
        s.append('"');
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            switch (ch) {
                case '"': s.append("\\\""); break;
                case '\\': s.append("\\\\"); break;
                case '\n': s.append("\\n"); break;
                case '\r': s.append("\\r"); break;
                case '\t': s.append("\\t"); break;
                default:
                    if (ch < 0x20) s.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    else s.append(ch);
            }
        }
        s.append('"');
    }

    // ------------------------------------------------------------------ reading

    /** The first bytes of the binary checkpoints written before safetensors: Java writeUTF("FISHLEG-CKPT"). */
    private static final byte[] LEGACY_MAGIC = {0, 12, 'F', 'I', 'S', 'H', 'L', 'E', 'G', '-', 'C', 'K', 'P', 'T'};

    /** True when {@code file} starts like a checkpoint of the earlier binary format ("FISHLEG-CKPT"). */
    static boolean isLegacyCheckpoint(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(LEGACY_MAGIC.length);
            while (b.hasRemaining() && ch.read(b) >= 0) { /* fill */ }
            return !b.hasRemaining() && Arrays.equals(b.array(), LEGACY_MAGIC);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Reads and structurally checks a file. {@link NoSuchFileException} and other {@link IOException}s are the
     * file system's; {@link Format} is a file that is not well-formed safetensors.
     * @param file the file
     * @return its tensors and metadata
     * @throws IOException when the file cannot be read
     * @throws Format when the file is not well-formed safetensors
     */
    public static Contents read(Path file) throws IOException, Format {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new Format("truncated: " + size + " bytes, less than the 8-byte header length");
            ByteBuffer lb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lb, 0);
            long n = lb.flip().getLong();
            String nText = Long.toUnsignedString(n);
            if (n < 0 || n > size - 8)
                throw new Format("header length " + nText + " exceeds the " + (size - 8) + " bytes after it (truncated or not safetensors)");
            if (n > MAX_HEADER) throw new Format("header length " + nText + " exceeds the limit of " + MAX_HEADER + " bytes");
            if (n < 2) throw new Format("header length " + n + " is too short for a JSON object");
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new Format("header is not valid UTF-8");
            }
            Object root = new Json(json).parseDocument();
            if (!(root instanceof Map)) throw new Format("header is not a JSON object");
            long bufferStart = 8 + n, bufferSize = size - bufferStart;
            Contents c = new Contents();
            List<Object[]> spans = new ArrayList<>(); // {name, dtype, shape, begin, end}
            for (Map.Entry<String, Object> e : asMap(root).entrySet()) {
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map)) throw new Format("__metadata__ is not a JSON object");
                    for (Map.Entry<String, Object> m : asMap(e.getValue()).entrySet()) {
                        if (!(m.getValue() instanceof String)) throw new Format("__metadata__ value '" + m.getKey() + "' is not a string");
                        c.metadata.put(m.getKey(), (String) m.getValue());
                    }
                    continue;
                }
                if (!(e.getValue() instanceof Map)) throw new Format("tensor '" + name + "' is not described by a JSON object");
                Map<String, Object> d = asMap(e.getValue());
                for (String k : d.keySet())
                    if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets"))
                        throw new Format("tensor '" + name + "' has an unknown field '" + k + "'");
                if (!(d.get("dtype") instanceof String)) throw new Format("tensor '" + name + "' has no dtype");
                String dtype = (String) d.get("dtype");
                int es = dtypeSize(dtype);
                if (es == 0) throw new Format("tensor '" + name + "' has unknown dtype '" + dtype + "'");
                long[] shape = longList(d.get("shape"), "tensor '" + name + "' shape", -1);
                long[] off = longList(d.get("data_offsets"), "tensor '" + name + "' data_offsets", 2);
                long count = 1;
                try {
                    for (long s : shape) count = Math.multiplyExact(count, s);
                    count = Math.multiplyExact(count, es);
                } catch (ArithmeticException x) {
                    throw new Format("tensor '" + name + "' shape " + Arrays.toString(shape) + " is too large");
                }
                if (off[0] > off[1]) throw new Format("tensor '" + name + "' data_offsets " + Arrays.toString(off) + " are reversed");
                if (off[1] - off[0] != count)
                    throw new Format("tensor '" + name + "' has " + (off[1] - off[0]) + " bytes but " + dtype + " "
                            + Arrays.toString(shape) + " needs " + count);
                if (off[1] > bufferSize)
                    throw new Format("tensor '" + name + "' ends at byte " + off[1] + " of a " + bufferSize + "-byte buffer (truncated)");
                if (count > MAX_TENSOR_BYTES) throw new Format("tensor '" + name + "' has " + count + " bytes, more than one array holds");
                spans.add(new Object[] {name, dtype, shape, off[0], off[1]});
            }
            spans.sort((a, b) -> Long.compare((Long) a[3], (Long) b[3]));
            long at = 0;
            for (Object[] s : spans) {
                if ((Long) s[3] != at)
                    throw new Format("tensor '" + s[0] + "' starts at byte " + s[3] + ", expected " + at
                            + ((Long) s[3] < at ? " (overlaps the previous tensor)" : " (gap before it)"));
                at = (Long) s[4];
            }
            if (at != bufferSize) throw new Format((bufferSize - at) + " trailing bytes after the last tensor");
            for (Object[] s : spans) {
                long b = (Long) s[3], e = (Long) s[4];
                ByteBuffer data = ByteBuffer.allocate((int) (e - b));
                readFully(ch, data, bufferStart + b);
                c.tensors.put((String) s[0], new Entry((String) s[1], (long[]) s[2], data.array()));
            }
            return c;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException, Format {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) throw new Format("truncated");
            pos += r;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) { return (Map<String, Object>) o; }

    private static long[] longList(Object o, String what, int length) throws Format {
        if (!(o instanceof List)) throw new Format(what + " is missing or not a list");
        List<?> l = (List<?>) o;
        if (length >= 0 && l.size() != length) throw new Format(what + " must have " + length + " values");
        long[] v = new long[l.size()];
        for (int i = 0; i < v.length; i++) {
            Object x = l.get(i);
            if (!(x instanceof BigInteger) || ((BigInteger) x).signum() < 0 || ((BigInteger) x).bitLength() > 62)
                throw new Format(what + " holds " + x + ", not a non-negative integer");
            v[i] = ((BigInteger) x).longValue();
        }
        return v;
    }

    /**
     * A strict JSON parser: objects (LinkedHashMap, duplicate keys refused), arrays (List), strings, integers
     * (BigInteger), other numbers (Double), true/false/null. Nesting is limited.
     */
    public static final class Json {
        private final String s;
        private int i;
        private int depth;

        Json(String s) { this.s = s; }

        Object parseDocument() throws Format {
            Object v = value();
            ws();
            if (i != s.length()) throw new Format("header JSON has extra text at character " + i);
            return v;
        }

        private void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') i++;
                else break;
            }
        }

        private Format bad(String what) { return new Format("header JSON is malformed: " + what + " at character " + i); }

        private Object value() throws Format {
            ws();
            if (i >= s.length()) throw bad("unexpected end");
            char c = s.charAt(i);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            if (c == '-' || (c >= '0' && c <= '9')) return number();
            throw bad("unexpected '" + c + "'");
        }

        private Map<String, Object> object() throws Format {
            if (++depth > 16) throw bad("nesting too deep");
            i++;
            LinkedHashMap<String, Object> m = new LinkedHashMap<>();
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; depth--; return m; }
            while (true) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw bad("expected a key");
                String k = string();
                ws();
                if (i >= s.length() || s.charAt(i) != ':') throw bad("expected ':'");
                i++;
                Object v = value();
                if (m.containsKey(k)) throw new Format("header JSON has the key '" + k + "' twice");
                m.put(k, v);
                ws();
                if (i >= s.length()) throw bad("unexpected end");
                char c = s.charAt(i++);
                if (c == '}') break;
                if (c != ',') throw bad("expected ',' or '}'");
            }
            depth--;
            return m;
        }

        private List<Object> array() throws Format {
            if (++depth > 16) throw bad("nesting too deep");
            i++;
            List<Object> l = new ArrayList<>();
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; depth--; return l; }
            while (true) {
                l.add(value());
                ws();
                if (i >= s.length()) throw bad("unexpected end");
                char c = s.charAt(i++);
                if (c == ']') break;
                if (c != ',') throw bad("expected ',' or ']'");
            }
            depth--;
            return l;
        }

        private String string() throws Format {
            i++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) throw bad("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw bad("control character in a string");
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) throw bad("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"': b.append('"'); break;
                    case '\\': b.append('\\'); break;
                    case '/': b.append('/'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length()) throw bad("short \\u escape");
                        try {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException x) {
                            throw bad("bad \\u escape");
                        }
                        i += 4;
                        break;
                    default: throw bad("bad escape \\" + e);
                }
            }
        }

        private Object number() throws Format {
            int start = i;
            if (s.charAt(i) == '-') i++;
            int digits = i;
            while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
            if (i == digits) throw bad("bad number");
            if (s.charAt(digits) == '0' && i - digits > 1) throw bad("leading zero");
            boolean integer = true;
            if (i < s.length() && s.charAt(i) == '.') {
                integer = false;
                i++;
                int f = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == f) throw bad("bad number");
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integer = false;
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                int f = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == f) throw bad("bad exponent");
            }
            String t = s.substring(start, i);
            if (t.length() > 400) throw bad("number too long");
            return integer ? new BigInteger(t) : (Object) Double.valueOf(t);
        }
    }
}
