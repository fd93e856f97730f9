package org.fishleg.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** BackendOptions: the one reader of the backends' environment variables and system properties. */
class BackendOptionsTest {

    private static BackendOptions from(Map<String, String> env, Map<String, String> props) {
        return BackendOptions.from(env, props);
    }

    @Test
    void emptyEnvironmentGivesTheDefaults() {
        BackendOptions o = from(Map.of(), Map.of());
        assertEquals(BackendOptions.defaults(), o);
        assertEquals(BackendOptions.Kind.AUTO, o.kind());
        assertEquals(0, o.cpuThreads());
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors()), o.resolvedCpuThreads());
        assertEquals(BackendOptions.GemmThreading.JAVA, o.gemmThreading());
        assertEquals(0, o.cudaDevice());
        assertFalse(o.tf32());
        assertNull(o.fatbin());
        assertNull(o.cublas13Path());
        assertNull(o.cudaLibPath());
        assertFalse(o.requireGpu());
    }

    @Test
    void everyVariableAndPropertyIsRead() {
        BackendOptions o = from(
                Map.of("FISHLEG_BACKEND", " CPU ", "FISHLEG_CUDA_DEVICE", "2", "FISHLEG_CUDA_TF32", "on",
                        "FISHLEG_CUDA_FATBIN", "/k/f.fatbin", "FISHLEG_CUBLAS13_PATH", "/c13", "FISHLEG_CUDA_LIB_PATH", "/a:/b",
                        "FISHLEG_REQUIRE_GPU", "yes"),
                Map.of("fishleg.cpu.threads", "3", "fishleg.cpu.gemmThreads", "OpenBLAS"));
        assertEquals(BackendOptions.Kind.CPU, o.kind());
        assertEquals(3, o.cpuThreads());
        assertEquals(3, o.resolvedCpuThreads());
        assertEquals(BackendOptions.GemmThreading.OPENBLAS, o.gemmThreading());
        assertEquals(2, o.cudaDevice());
        assertTrue(o.tf32());
        assertEquals(Path.of("/k/f.fatbin"), o.fatbin());
        assertEquals(Path.of("/c13"), o.cublas13Path());
        assertEquals("/a:/b", o.cudaLibPath());
        assertTrue(o.requireGpu());
    }

    @Test
    void aPropertyWinsOverItsVariableAndBlankMeansUnset() {
        BackendOptions o = from(
                Map.of("FISHLEG_CUDA_DEVICE", "2", "FISHLEG_CUDA_TF32", "1", "FISHLEG_CUDA_FATBIN", "/env.fatbin",
                        "FISHLEG_CUBLAS13_PATH", "/env13", "FISHLEG_CUDA_LIB_PATH", "/env"),
                Map.of("fishleg.cuda.device", "1", "fishleg.cuda.tf32", "false", "fishleg.cuda.fatbin", "/prop.fatbin",
                        "fishleg.cublas13.path", " ", "fishleg.cuda.libPath", "/prop"));
        assertEquals(1, o.cudaDevice());
        assertFalse(o.tf32());
        assertEquals(Path.of("/prop.fatbin"), o.fatbin());
        assertEquals(Path.of("/env13"), o.cublas13Path(), "a blank property falls through to the variable");
        assertEquals("/prop", o.cudaLibPath());
        assertEquals(BackendOptions.defaults(), from(Map.of("FISHLEG_BACKEND", "  "), Map.of("fishleg.cpu.threads", "")));
    }

    @Test
    void threadCountsBelowOneMeanOneAsBefore() {
        assertEquals(1, from(Map.of(), Map.of("fishleg.cpu.threads", "0")).cpuThreads());
        assertEquals(1, from(Map.of(), Map.of("fishleg.cpu.threads", "-4")).resolvedCpuThreads());
    }

    @Test
    void onlyTheDocumentedSourcesCount() {
        // FISHLEG_BACKEND has no property twin; the CPU settings have no environment twins
        BackendOptions o = from(Map.of("fishleg.cpu.threads", "7"), Map.of("FISHLEG_BACKEND", "cuda", "FISHLEG_REQUIRE_GPU", "1"));
        assertEquals(BackendOptions.defaults(), o);
    }

    @Test
    void invalidValuesNameTheVariable() {
        assertMessage("FISHLEG_BACKEND=gpu", "unknown backend 'gpu'", Map.of("FISHLEG_BACKEND", "gpu"), Map.of());
        assertMessage("-Dfishleg.cpu.threads=many", "not a number", Map.of(), Map.of("fishleg.cpu.threads", "many"));
        assertMessage("-Dfishleg.cpu.gemmThreads=mkl", "expected java or openblas", Map.of(), Map.of("fishleg.cpu.gemmThreads", "mkl"));
        assertMessage("FISHLEG_CUDA_DEVICE=first", "not a number", Map.of("FISHLEG_CUDA_DEVICE", "first"), Map.of());
        assertMessage("-Dfishleg.cuda.device=-1", "must be >= 0", Map.of(), Map.of("fishleg.cuda.device", "-1"));
        assertMessage("FISHLEG_CUDA_TF32=maybe", "expected 1/true/yes/on or 0/false/no/off", Map.of("FISHLEG_CUDA_TF32", "maybe"), Map.of());
        assertMessage("FISHLEG_REQUIRE_GPU=on", "expected 1/true/yes or 0/false/no", Map.of("FISHLEG_REQUIRE_GPU", "on"), Map.of());
    }

    private static void assertMessage(String names, String why, Map<String, String> env, Map<String, String> props) {
        BackendException e = assertThrows(BackendException.class, () -> from(env, props));
        assertTrue(e.getMessage().contains(names) && e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void builderValidatesAndRoundTrips() {
        BackendOptions o = BackendOptions.builder().kind(BackendOptions.Kind.CUDA).cpuThreads(2)
                .gemmThreading(BackendOptions.GemmThreading.OPENBLAS).cudaDevice(1).tf32(true).fatbin(Path.of("f"))
                .cublas13Path(Path.of("c")).cudaLibPath(" /x ").requireGpu(true).build();
        assertEquals(o, o.toBuilder().build());
        assertEquals(o.hashCode(), o.toBuilder().build().hashCode());
        assertEquals("/x", o.cudaLibPath());
        assertTrue(o.toString().contains("kind=cuda"), o.toString());
        assertThrows(BackendException.class, () -> BackendOptions.builder().cpuThreads(-1));
        assertThrows(BackendException.class, () -> BackendOptions.builder().cudaDevice(-1));
        assertThrows(NullPointerException.class, () -> BackendOptions.builder().kind(null));
    }

    @Test
    void backendsResolveAnExplicitChoiceOverTheOptions() {
        BackendOptions cuda = BackendOptions.builder().kind(BackendOptions.Kind.CUDA).build();
        assertEquals("cpu", Backends.resolveChoice("cpu", cuda));
        assertEquals("cuda", Backends.resolveChoice("auto", cuda));
        assertEquals("cuda", Backends.resolveChoice(null, cuda));
        assertEquals("auto", Backends.resolveChoice("auto", BackendOptions.defaults()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.resolveChoice("gpu", cuda));
        assertTrue(e.getMessage().contains("unknown backend 'gpu'"), e.getMessage());
    }

    @Test
    void cpuBackendTakesItsOptions() {
        BackendOptions one = BackendOptions.builder().kind(BackendOptions.Kind.CPU).cpuThreads(1).build();
        java.util.List<String> log = new java.util.ArrayList<>();
        try (Backend b = Backends.open(one, log::add)) {
            assertEquals("cpu", b.name());
            assertTrue(b.description().contains(", 1 thread,"), b.description());
        }
        assertEquals(1, log.size());
        assertTrue(log.get(0).startsWith("backend: cpu ("), log.get(0));
        // the defaults again, so that later tests see OpenBLAS as the environment configures it
        new org.fishleg.backend.cpu.CpuBackend().close();
    }
}
