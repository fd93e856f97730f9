package org.fishleg.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * An optimizer's state as plain data: named float arrays (buffers copied from the backend) and named
 * numbers (step counts, scalars). Binary round trip through {@link #write}/{@link #read} is exact.
 */
public final class OptimizerState {
    private final String optimizer;
    private final TreeMap<String, float[]> arrays = new TreeMap<>();
    private final TreeMap<String, Double> numbers = new TreeMap<>();

    /**
     * Empty state of the named optimizer.
     * @param optimizer the optimizer's name
     */
    public OptimizerState(String optimizer) { this.optimizer = optimizer; }

    /**
     * The optimizer's name.
     * @return the optimizer's name
     */
    public String optimizer() { return optimizer; }
    /**
     * Stores an array (not copied).
     * @param key the array's name
     * @param v the values
     * @return this state
     */
    public OptimizerState put(String key, float[] v) { arrays.put(key, v); return this; }
    /**
     * Stores a number.
     * @param key the number's name
     * @param v the value
     * @return this state
     */
    public OptimizerState put(String key, double v) { numbers.put(key, v); return this; }
    /**
     * All arrays by key, sorted.
     * @return the arrays, sorted by key
     */
    public Map<String, float[]> arrays() { return arrays; }
    /**
     * All numbers by key, sorted.
     * @return the numbers, sorted by key
     */
    public Map<String, Double> numbers() { return numbers; }

    /**
     * The array stored under {@code key}; throws if absent.
     * @param key the array's name
     * @return the array
     */
    public float[] array(String key) {
        float[] a = arrays.get(key);
        if (a == null) throw new IllegalArgumentException(optimizer + " state has no array '" + key + "'");
        return a;
    }

    /**
     * The number stored under {@code key}; throws if absent.
     * @param key the number's name
     * @return the number
     */
    public double number(String key) {
        Double d = numbers.get(key);
        if (d == null) throw new IllegalArgumentException(optimizer + " state has no number '" + key + "'");
        return d;
    }

    /**
     * Writes the state in the checkpoint's binary form.
     * @param out where to write
     * @throws IOException when writing fails
     */
    public void write(DataOutputStream out) throws IOException {
        out.writeUTF(optimizer);
        out.writeInt(numbers.size());
        for (Map.Entry<String, Double> e : numbers.entrySet()) { out.writeUTF(e.getKey()); out.writeDouble(e.getValue()); }
        out.writeInt(arrays.size());
        for (Map.Entry<String, float[]> e : arrays.entrySet()) {
            out.writeUTF(e.getKey());
            float[] a = e.getValue();
            out.writeInt(a.length);
            for (float f : a) out.writeInt(Float.floatToRawIntBits(f));
        }
    }

    /**
     * Reads a state written by {@link #write}.
     * @param in where to read from
     * @return the state read
     * @throws IOException when reading fails or the data is malformed
     */
    public static OptimizerState read(DataInputStream in) throws IOException {
        OptimizerState s = new OptimizerState(in.readUTF());
        int n = in.readInt();
        for (int i = 0; i < n; i++) s.put(in.readUTF(), in.readDouble());
        int m = in.readInt();
        for (int i = 0; i < m; i++) {
            String k = in.readUTF();
            int len = in.readInt();
            if (len < 0) throw new IOException("negative array length in optimizer state for '" + k + "'");
            float[] a = new float[len];
            for (int j = 0; j < len; j++) a[j] = Float.intBitsToFloat(in.readInt());
            s.put(k, a);
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OptimizerState)) return false;
        OptimizerState s = (OptimizerState) o;
        if (!optimizer.equals(s.optimizer) || !numbers.equals(s.numbers) || !arrays.keySet().equals(s.arrays.keySet())) return false;
        for (String k : arrays.keySet()) if (!Arrays.equals(arrays.get(k), s.arrays.get(k))) return false;
        return true;
    }

    @Override
    public int hashCode() { return optimizer.hashCode() * 31 + numbers.hashCode(); }
}
