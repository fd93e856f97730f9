// The one translation unit built into fishleg_kernels.fatbin (see CMakeLists.txt).
// Each family lives in its own header; every kernel is extern "C" with an fl_ prefix, and the
// host side (java/org/fishleg/backend/cuda/Kernels.java) looks them up by these names.
#include "common.cuh"
#include "elementwise.cuh"
#include "reduce.cuh"
#include "likelihood.cuh"
#include "optim.cuh"
#include "random.cuh"
