package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A metrics row that cannot be written (a full disk) leaves no half row behind and fails with one line. */
class MetricsWriterTest {

    @TempDir Path tmp;

    /** A file channel that accepts {@code room} more bytes, writes part of the next buffer, then fails as a full disk does. */
    static final class FullDisk implements SeekableByteChannel {
        final FileChannel ch;
        long room;

        FullDisk(FileChannel ch, long room) { this.ch = ch; this.room = room; }

        @Override public int write(ByteBuffer src) throws IOException {
            if (room <= 0) throw new IOException("No space left on device");
            int n = (int) Math.min(room, src.remaining());
            ByteBuffer part = src.slice();
            part.limit(n);
            int w = ch.write(part);
            src.position(src.position() + w);
            room -= w;
            return w;
        }
        @Override public int read(ByteBuffer dst) throws IOException { return ch.read(dst); }
        @Override public long position() throws IOException { return ch.position(); }
        @Override public SeekableByteChannel position(long p) throws IOException { ch.position(p); return this; }
        @Override public long size() throws IOException { return ch.size(); }
        @Override public SeekableByteChannel truncate(long size) throws IOException { ch.truncate(size); return this; }
        @Override public boolean isOpen() { return ch.isOpen(); }
        @Override public void close() throws IOException { ch.close(); }
    }

    @Test
    void aFullDiskLeavesOnlyCompleteRows() throws IOException {
        Path f = tmp.resolve("m.csv");
        MetricsWriter.create(f).close();
        FullDisk disk = new FullDisk(FileChannel.open(f, StandardOpenOption.WRITE), 0);
        try (MetricsWriter w = new MetricsWriter(f, disk, false)) {
            disk.room = 1000;
            w.row(1, 0.1, 0.5, 2.0, null);
            disk.room = 7; // the next row gets 7 bytes in, then the disk is full
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> w.row(2, 0.2, 0.9, 1.5, null));
            assertTrue(e.getMessage().contains("cannot write metrics file " + f + ": No space left on device"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        assertEquals(List.of(MetricsWriter.HEADER, "1,0.1000,0.500,2.000000,"), lines, "header and the complete row only");
    }

    @Test
    void aMetricsFileOnAFullDeviceIsAUserError() {
        Path full = Path.of("/dev/full");
        if (!Files.isWritable(full)) return; // not Linux
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MetricsWriter.create(full));
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
    }
}
