/**
 * The op interface every model, curvature product and optimizer is written against: {@link org.fishleg.backend.Backend}
 * (float32 device-resident {@link org.fishleg.backend.Tensor}s, GEMM, elementwise, reduction, likelihood, optimizer and
 * Philox random ops), its one checked front {@link org.fishleg.backend.AbstractBackend} (argument checks once, then the
 * narrow per-backend methods), the typed {@link org.fishleg.backend.BackendOptions} (the one place environment
 * variables and system properties are read) and {@link org.fishleg.backend.Backends#open} to pick the CPU or CUDA
 * implementation.
 */
package org.fishleg.backend;
