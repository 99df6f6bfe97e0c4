using System.Runtime.InteropServices;
using System.Text;

namespace RnnCluster.Numerics;

/// <summary>
/// Loads <c>libmkl_rt.so</c> once per process and configures it: threading layer, thread
/// count, alignment-independent reproducibility and VML accuracy. MKL is process-global state,
/// so this is the one static in the numerics layer; everything else receives kernels as objects.
/// </summary>
public static unsafe class Mkl
{
    public const string InstallHint = "install it with `sudo deploy/install-mkl.sh` (Debian: apt-get install libmkl-rt from non-free), or run with RNNCLUSTER_MATH=managed";

    private static readonly object Gate = new();
    private static int _configuredThreads;

    /// <summary>True once MKL has been loaded and configured.</summary>
    public static bool IsLoaded { get; private set; }

    public static string ThreadingLayer { get; private set; } = "none";

    public static string Version { get; private set; } = "";

    /// <summary>The instruction set MKL's kernels were chosen for (its CBWR auto branch), e.g. AVX2 or AVX512_E1.</summary>
    public static string CodePath { get; private set; } = "";

    /// <summary>What <see cref="MklCpuDispatch"/> decided, e.g. that AVX-512 kernels are on through the shim.</summary>
    public static string CpuDispatch { get; private set; } = "";

    /// <summary>The CPU-dispatch shim's path when it is loaded in this process (for benchmarks that give a peer the same), else null.</summary>
    public static string? CpuDispatchShim => MklCpuDispatch.ShimLoaded ? MklCpuDispatch.ShimPath : null;

    /// <summary>
    /// The thread count MKL was configured with for the process (0 before loading). Read this,
    /// not mkl_get_max_threads: a thread that has run part of a split pass has its own MKL count
    /// set to 1, and a layer deciding there would never split.
    /// </summary>
    public static int ConfiguredThreads => _configuredThreads;

    /// <summary>
    /// Loads MKL with the given number of threads (1 = the sequential layer, the default;
    /// more = the GNU OpenMP layer). Throws <see cref="MathBackendException"/> naming the install
    /// command when the library cannot be loaded. Calling again with the same thread count is a no-op.
    /// </summary>
    public static void EnsureLoaded(int threads = 1)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "MKL threads must be at least 1");
        lock (Gate)
        {
            if (IsLoaded)
            {
                if (threads != _configuredThreads)
                    throw new MathBackendException($"MKL is already configured with {_configuredThreads} thread(s) in this process; asked for {threads}");
                return;
            }

            // Before MKL: the shim must come first in the global symbol scope.
            CpuDispatch = MklCpuDispatch.Apply(Environment.GetEnvironmentVariable(MathOptions.CpuDispatchVariable));
            if (!NativeLibrary.TryLoad("libmkl_rt.so", typeof(Mkl).Assembly, null, out _)
                && !NativeLibrary.TryLoad("libmkl_rt.so.1", typeof(Mkl).Assembly, null, out _))
                throw new MathBackendException($"Intel MKL (libmkl_rt.so) could not be loaded: {InstallHint}");

            if (threads == 1)
            {
                MklNative.SetThreadingLayer(MklNative.ThreadingSequential);
                ThreadingLayer = "sequential";
            }
            else
            {
                // MKL's GNU layer resolves omp_* symbols globally: libgomp must be loaded with
                // RTLD_GLOBAL before the first MKL call.
                if (GlobalLibrary.Load("libgomp.so.1") is not null)
                    throw new MathBackendException($"{threads} MKL threads need GNU OpenMP (libgomp.so.1), which could not be loaded: apt-get install libgomp1");
                MklNative.SetThreadingLayer(MklNative.ThreadingGnu);
                MklNative.SetNumThreads(threads);
                ThreadingLayer = $"gnu-openmp x{threads}";
            }

            // Same inputs, same bits, whatever the arrays' alignment (docs/DESIGN.md: bit-for-bit reruns).
            MklNative.CbwrSet(MklNative.CbwrAuto | MklNative.CbwrStrict);
            MklNative.VmlSetMode(MklNative.VmlHighAccuracy);

            CodePath = CodePathName(MklNative.CbwrGetAutoBranch());
            var buffer = stackalloc byte[256];
            MklNative.GetVersionString(buffer, 256);
            Version = Encoding.ASCII.GetString(buffer, 256).TrimEnd('\0', ' ');
            _configuredThreads = threads;
            IsLoaded = true;
        }
    }

    /// <summary>MKL_CBWR_* branch codes (mkl_cbwr.h); AUTO is what MKL reports on non-Intel CPUs.</summary>
    private static string CodePathName(int branch) => branch switch
    {
        2 => "non-Intel (AVX2 at most)",
        3 => "COMPATIBLE",
        4 => "SSE2",
        6 => "SSSE3",
        7 => "SSE4_1",
        8 => "SSE4_2",
        9 => "AVX",
        10 => "AVX2",
        11 => "AVX512_MIC",
        12 => "AVX512",
        13 => "AVX512_MIC_E1",
        14 => "AVX512_E1",
        _ => $"branch {branch}",
    };
}

/// <summary>The requested math backend cannot run here; the message says what to install.</summary>
public sealed class MathBackendException(string message) : Exception(message);
