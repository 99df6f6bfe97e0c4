using MathNet.Numerics.Providers.LinearAlgebra;

namespace RnnCluster.Numerics;

/// <summary>Which math to use and with how many MKL threads.</summary>
public sealed record MathOptions(MathKind Kind = MathKind.Mkl, int Threads = 1)
{
    public const string KindVariable = "RNNCLUSTER_MATH";
    public const string ThreadsVariable = "RNNCLUSTER_MKL_THREADS";

    /// <summary><c>auto</c> (default) or <c>off</c>: MKL's AVX-512 kernels on non-Intel CPUs (see <see cref="MklCpuDispatch"/>).</summary>
    public const string CpuDispatchVariable = "RNNCLUSTER_MKL_CPU_DISPATCH";

    /// <summary>
    /// Reads <c>RNNCLUSTER_MATH</c> (<c>mkl</c>, the default, or <c>managed</c>) and
    /// <c>RNNCLUSTER_MKL_THREADS</c> (default 1); explicit values (from configuration or the
    /// command line) win over the environment.
    /// </summary>
    public static MathOptions FromEnvironment(string? kind = null, int? threads = null)
    {
        kind ??= Environment.GetEnvironmentVariable(KindVariable);
        var threadText = Environment.GetEnvironmentVariable(ThreadsVariable);
        int t = threads ?? (string.IsNullOrWhiteSpace(threadText) ? 1
            : int.TryParse(threadText, out var parsed) && parsed >= 1 ? parsed
            : throw new MathBackendException($"{ThreadsVariable}='{threadText}' is not a positive integer"));
        return new MathOptions(ParseKind(kind), t);
    }

    public static MathKind ParseKind(string? text) => (text ?? "mkl").Trim().ToLowerInvariant() switch
    {
        "" or "mkl" => MathKind.Mkl,
        "managed" => MathKind.Managed,
        _ => throw new MathBackendException($"unknown math backend '{text}': expected 'mkl' or 'managed'"),
    };
}

/// <summary>
/// Starts the chosen math once per process: loads MKL (failing loudly when it is missing),
/// installs the matching MathNet provider, and hands out the engine's kernels.
/// </summary>
public static class MathBackend
{
    private static readonly object Gate = new();
    private static IMathKernels? _mkl;
    private static readonly IMathKernels ManagedInstance = new ManagedKernels();

    /// <summary>Kernels for the given math; for MKL, also makes it MathNet's provider.</summary>
    public static IMathKernels Start(MathOptions options)
    {
        if (options.Kind == MathKind.Managed)
        {
            LinearAlgebraControl.Provider = ManagedLinearAlgebraProvider.Instance;
            return ManagedInstance;
        }
        lock (Gate)
        {
            _mkl ??= new MklKernels(options.Threads);
            LinearAlgebraControl.Provider = MklLinearAlgebraProvider.Instance;
            return _mkl;
        }
    }

    /// <summary>One line for the start-up log: active provider, MKL's code path and threading layer.</summary>
    public static string Describe(IMathKernels kernels) => kernels.Kind == MathKind.Mkl
        ? $"math: MKL ({Mkl.Version}), code path {Mkl.CodePath} ({Mkl.CpuDispatch}), threading layer {Mkl.ThreadingLayer}; MathNet provider {LinearAlgebraControl.Provider}"
        : $"math: managed (RNNCLUSTER_MATH=managed); MathNet provider {LinearAlgebraControl.Provider}";
}
