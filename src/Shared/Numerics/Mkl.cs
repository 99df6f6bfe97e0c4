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
                // RTLD_GLOBAL before the first MKL call, which NativeLibrary.Load cannot do.
                const int RtldNow = 2, RtldGlobal = 0x100;
                if (dlopen("libgomp.so.1", RtldNow | RtldGlobal) == IntPtr.Zero)
                    throw new MathBackendException($"{threads} MKL threads need GNU OpenMP (libgomp.so.1), which could not be loaded: apt-get install libgomp1");
                MklNative.SetThreadingLayer(MklNative.ThreadingGnu);
                MklNative.SetNumThreads(threads);
                ThreadingLayer = $"gnu-openmp x{threads}";
            }

            // Same inputs, same bits, whatever the arrays' alignment (DESIGN.md: bit-for-bit reruns).
            MklNative.CbwrSet(MklNative.CbwrAuto | MklNative.CbwrStrict);
            MklNative.VmlSetMode(MklNative.VmlHighAccuracy);

            var buffer = stackalloc byte[256];
            MklNative.GetVersionString(buffer, 256);
            Version = Encoding.ASCII.GetString(buffer, 256).TrimEnd('\0', ' ');
            _configuredThreads = threads;
            IsLoaded = true;
        }
    }

    [DllImport("libdl.so.2")]
    private static extern IntPtr dlopen(string fileName, int flags);
}

/// <summary>The requested math backend cannot run here; the message says what to install.</summary>
public sealed class MathBackendException(string message) : Exception(message);
