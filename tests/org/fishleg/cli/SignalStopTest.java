package org.fishleg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fishleg.train.Checkpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A training run in a child JVM stopped by SIGTERM (what `kill`, systemd, Docker and Kubernetes send) or SIGINT
 * (Ctrl-C): it finishes the step in progress, writes its checkpoint, and exits with 143 or 130.
 */
class SignalStopTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @CsvSource({"TERM, 143", "INT, 130"})
    void signalStopsWithCheckpoint(String signal, int expectedExit) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/kill")) || Files.isExecutable(Path.of("/usr/bin/kill")),
                "no kill command");
        // A process started in the background by a non-interactive shell (nohup ... &) ignores SIGINT, its children
        // inherit that, and the JVM then leaves SIGINT alone: nothing to test in such an environment.
        if (signal.equals("INT"))
            Assumptions.assumeFalse(ignored(2), "SIGINT is ignored by this test JVM (started in the background), so its child cannot see it");
        Path ck = tmp.resolve("ck");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "-Dfishleg.cpu.threads=1", "org.fishleg.cli.Main", "train", "--backend", "cpu", "--model", "dln",
                "--optimizer", "momentum", "--steps", "100000000", "--progress", "lines", "--print-every", "50",
                "--checkpoint-dir", ck.toString(), "--metrics", tmp.resolve("m.csv").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            boolean sent = false;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
                if (!sent && line.startsWith("step ") && !line.startsWith("step 0/")) {   // training is under way
                    Process k = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
                    assertEquals(0, k.waitFor(), "kill -" + signal);
                    sent = true;
                }
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the run did not stop within 60 s of SIG" + signal + ":\n" + out);
        } finally {
            p.destroyForcibly();
        }
        assertEquals(expectedExit, p.exitValue(), "exit status after SIG" + signal + ":\n" + out);
        assertTrue(out.toString().contains("interrupted at step"), out.toString());
        Checkpoint c = Checkpoint.read(ck.resolve(Checkpoint.LATEST));
        assertTrue(c.step > 0, "checkpoint step " + c.step);
    }

    /** True when signal {@code signo} is ignored by this process (SigIgn in /proc/self/status). */
    private static boolean ignored(int signo) throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String l : Files.readAllLines(status))
            if (l.startsWith("SigIgn:")) return ((Long.parseUnsignedLong(l.substring(7).trim(), 16) >>> (signo - 1)) & 1) != 0;
        return false;
    }
}
