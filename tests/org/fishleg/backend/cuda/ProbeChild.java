package org.fishleg.backend.cuda;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;

/** Child-JVM main for {@link CudaProbeTest}: prints the probe and what `--backend auto` chose. */
public final class ProbeChild {
    private ProbeChild() {}

    public static void main(String[] args) {
        CudaSupport.Probe p = CudaSupport.probe();
        System.out.println("USABLE=" + p.usable);
        System.out.println("REASON=" + p.reason);
        for (String d : p.details) System.out.println("DETAIL=" + d);
        System.out.println("PROBE_AGAIN_SAME=" + (CudaSupport.probe() == p));
        if (args.length > 0 && args[0].equals("auto")) {
            try (Backend b = Backends.open("auto", line -> System.out.println("LOG=" + line))) {
                System.out.println("CHOSEN=" + b.name());
            }
        }
    }
}
