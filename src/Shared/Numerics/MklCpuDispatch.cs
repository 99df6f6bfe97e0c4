using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace RnnCluster.Numerics;

/// <summary>
/// MKL 2020 (Debian's libmkl-rt) runs its AVX-512 kernels only on CPUs whose vendor is Intel; on
/// other CPUs with AVX-512 (AMD Zen 4 and later) it falls back to its AVX2 kernels, at less than
/// half the GEMM speed (sgemm 90 against 210 GFLOP/s on one Zen 5 core). MKL asks one internal
/// function, <c>mkl_serv_intel_cpu_true</c>, whether the CPU is Intel's. A one-line library that
/// defines it to return 1 (<c>deploy/mkl-cpu-dispatch.c</c>, built by <c>deploy/install-mkl.sh</c>),
/// loaded into the global symbol scope before MKL, answers yes. MKL still reads the CPU's feature
/// flags itself, so it only picks kernels the CPU has. <see cref="MathOptions.CpuDispatchVariable"/>
/// = <c>off</c> leaves MKL's own choice.
/// </summary>
internal static class MklCpuDispatch
{
    public const string ShimPath = "/usr/local/lib/rnncluster/libmkl-cpu-dispatch.so";

    /// <summary>
    /// Loads the shim when it helps (non-Intel CPU with AVX-512, <paramref name="setting"/> not
    /// <c>off</c>); must run before MKL is loaded. Returns what was decided, for the start-up line.
    /// </summary>
    public static string Apply(string? setting)
    {
        setting = (setting ?? "auto").Trim().ToLowerInvariant();
        if (setting is not ("" or "auto" or "off"))
            throw new MathBackendException($"{MathOptions.CpuDispatchVariable}='{setting}': expected 'auto' or 'off'");
        var vendor = Vendor();
        if (vendor == "GenuineIntel") return "Intel CPU";
        if (!Avx512F.IsSupported) return $"{vendor} CPU without AVX-512";
        if (setting == "off") return $"{vendor} CPU, AVX-512 kernels off ({MathOptions.CpuDispatchVariable}=off)";
        if (!File.Exists(ShimPath)) return $"{vendor} CPU, AVX-512 kernels unused: {ShimPath} is missing (deploy/install-mkl.sh builds it)";
        if (GlobalLibrary.Load(ShimPath) is { } error)
            return $"{vendor} CPU, AVX-512 kernels unused: {ShimPath} could not be loaded ({error})";
        ShimLoaded = true;
        return $"{vendor} CPU, AVX-512 kernels through {ShimPath}";
    }

    /// <summary>True once the shim is in the process.</summary>
    public static bool ShimLoaded { get; private set; }

    /// <summary>The CPU vendor string (GenuineIntel, AuthenticAMD, ...).</summary>
    public static string Vendor()
    {
        if (!X86Base.IsSupported) return RuntimeInformation.ProcessArchitecture.ToString();
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var bytes = new byte[12];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), ebx);
        BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), edx);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), ecx);
        return Encoding.ASCII.GetString(bytes);
    }
}

/// <summary>
/// dlopen with RTLD_GLOBAL, which NativeLibrary.Load cannot do: for libraries whose symbols MKL
/// must find in the global scope (GNU OpenMP, the CPU-dispatch shim).
/// </summary>
internal static class GlobalLibrary
{
    /// <summary>Loads the library; null on success, else dlerror's message.</summary>
    public static string? Load(string fileName)
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        return dlopen(fileName, RtldNow | RtldGlobal) != IntPtr.Zero ? null : Marshal.PtrToStringAnsi(dlerror()) ?? "unknown error";
    }

    [DllImport("libdl.so.2")]
    private static extern IntPtr dlopen(string fileName, int flags);

    [DllImport("libdl.so.2")]
    private static extern IntPtr dlerror();
}
