/*
 * Lets MKL 2020 run its AVX-512 kernels on non-Intel CPUs that have AVX-512 (AMD Zen 4 and later).
 *
 * MKL picks its kernels from the CPU's feature flags, but only after asking this internal function
 * whether the CPU is Intel's; on any other vendor it stops at its AVX2 kernels. RnnCluster loads
 * this library into the global symbol scope before MKL (src/Shared/Numerics/MklCpuDispatch.cs), so
 * MKL's call lands here. MKL still checks the feature flags, so it only uses instructions the CPU
 * has. Built by deploy/install-mkl.sh into /usr/local/lib/rnncluster/libmkl-cpu-dispatch.so;
 * RNNCLUSTER_MKL_CPU_DISPATCH=off leaves it unloaded.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
