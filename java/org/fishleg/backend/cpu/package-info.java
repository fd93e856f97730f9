/**
 * The CPU backend: {@link org.fishleg.backend.cpu.CpuBackend}, off-heap tensors, OpenBLAS GEMM and deterministic
 * parallel Java loops. The op families (elementwise, reduce, likelihood, optimizer, random, GEMM) live in
 * package-private classes named after the matching cuda/*.cuh files.
 */
package org.fishleg.backend.cpu;
