/**
 * The CUDA backend: {@link org.fishleg.backend.cuda.CudaBackend} (JCuda driver API, cuBLAS, the project's kernels
 * from cuda/, optional CUDA graph replay) and {@link org.fishleg.backend.cuda.CudaSupport}, which probes whether a
 * usable GPU is present and says why not. Kernel launches are grouped by family in package-private classes named
 * after the matching cuda/*.cuh files.
 */
package org.fishleg.backend.cuda;
