/*
 * libcublas.so.12 forwarding library for CUDA 13 hosts (see docs/GPU.md).
 *
 * JCublas2 12.6.0's JNI library NEEDs libcublas.so.12 and imports its cuBLAS functions with
 * symbol version libcublas.so.12. A CUDA 13 host has libcublas.so.13 only. This library has
 * soname libcublas.so.12, defines the version node libcublas.so.12 for every imported name
 * (generated trampolines.S / libcublas.map) and, when it is loaded, dlopen()s libcublas.so.13 and
 * points each trampoline's slot at the real function. A name that libcublas.so.13 lacks keeps its
 * thunk: calling it prints the name and aborts (only linkage is bridged, not removed APIs).
 *
 * Where libcublas.so.13 comes from: $FISHLEG_CUBLAS13_PATH (the file, or a directory holding
 * libcublas.so.13), else the normal dlopen search (LD_LIBRARY_PATH, ld.so.cache, or a copy the
 * JVM already System.load()ed, matched by its soname). The Java side (NativeLibs) resolves the
 * system property fishleg.cublas13.path by System.load()ing that file first.
 *
 * Built with plain gcc, no CUDA headers: see build.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "names.inc"

/* Bind to the oldest x86-64 symbol versions so the library also loads on glibc < 2.34 hosts
 * (dlopen/dlsym/dlerror moved from libdl into libc with new versions in 2.34). */
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");

extern void *fl_slots[FL_NSLOTS];

static char fl_target[PATH_MAX] = "libcublas.so.13";
static char fl_error[PATH_MAX + 256] = "not loaded yet";

__attribute__((visibility("hidden"), noreturn)) void fl_missing(int i) {
    fprintf(stderr,
            "fishleg cublas forwarder (libcublas.so.12 -> %s): %s is not available (%s); aborting\n",
            fl_target, (i >= 0 && i < FL_NSLOTS) ? fl_names[i] : "?", fl_error);
    fflush(stderr);
    abort();
}

__attribute__((constructor)) static void fl_forward_init(void) {
    const char *env = getenv("FISHLEG_CUBLAS13_PATH");
    void *h = NULL;
    if (env && *env) {
        /* the file itself, else a directory holding libcublas.so.13 */
        snprintf(fl_target, sizeof fl_target, "%s", env);
        h = dlopen(fl_target, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(fl_target, sizeof fl_target, "%s/libcublas.so.13", env);
            h = dlopen(fl_target, RTLD_NOW | RTLD_LOCAL);
        }
    } else {
        h = dlopen(fl_target, RTLD_NOW | RTLD_LOCAL);
    }
    if (!h) {
        const char *e = dlerror();
        snprintf(fl_error, sizeof fl_error, "dlopen failed: %s", e ? e : "?");
        if (getenv("FISHLEG_CUBLAS_FORWARD_DEBUG")) fprintf(stderr, "fishleg cublas forwarder: %s\n", fl_error);
        return;
    }
    int missing = 0;
    for (int i = 0; i < FL_NSLOTS; i++) {
        void *p = dlsym(h, fl_names[i]);
        if (p) fl_slots[i] = p; else missing++;
    }
    snprintf(fl_error, sizeof fl_error, "not exported by %s (%d of %d names unresolved)", fl_target, missing, FL_NSLOTS);
    if (getenv("FISHLEG_CUBLAS_FORWARD_DEBUG"))
        fprintf(stderr, "fishleg cublas forwarder: %s loaded, %d of %d names resolved\n", fl_target,
                FL_NSLOTS - missing, FL_NSLOTS);
}
