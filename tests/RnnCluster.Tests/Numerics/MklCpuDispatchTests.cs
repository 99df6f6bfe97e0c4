using System.Runtime.Intrinsics.X86;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// The CPU-dispatch shim (deploy/mkl-cpu-dispatch.c): on a non-Intel CPU with AVX-512 and the shim
/// built (./test.sh runs deploy/install-mkl.sh, which builds it), MKL must really run its AVX-512
/// kernels; elsewhere it must say why not. The parity and gradient tests run on whatever kernels
/// this process got, so with the shim they check MKL's AVX-512 kernels.
/// </summary>
public sealed class MklCpuDispatchTests
{
    [Fact]
    public void Mkl_runs_the_kernels_the_cpu_and_the_shim_allow()
    {
        MathBackend.Start(new MathOptions(MathKind.Mkl));
        bool intel = MklCpuDispatch.Vendor() == "GenuineIntel";
        bool shimApplies = !intel && Avx512F.IsSupported && File.Exists(MklCpuDispatch.ShimPath)
            && Environment.GetEnvironmentVariable(MathOptions.CpuDispatchVariable)?.Trim().ToLowerInvariant() != "off";
        if (shimApplies)
        {
            Assert.Equal(MklCpuDispatch.ShimPath, Mkl.CpuDispatchShim);
            Assert.StartsWith("AVX512", Mkl.CodePath);
        }
        else
        {
            Assert.Null(Mkl.CpuDispatchShim);
            Assert.NotEqual("", Mkl.CpuDispatch);
        }
        Assert.Contains(Mkl.CodePath, MathBackend.Describe(MathBackend.Start(new MathOptions(MathKind.Mkl))));
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("on")]
    public void An_unknown_setting_is_refused_by_name(string setting)
    {
        var e = Assert.Throws<MathBackendException>(() => MklCpuDispatch.Apply(setting));
        Assert.Contains(MathOptions.CpuDispatchVariable, e.Message);
        Assert.Contains("'auto' or 'off'", e.Message);
    }

    [Fact]
    public void Off_leaves_mkl_its_own_choice()
    {
        var decision = MklCpuDispatch.Apply("off");
        if (MklCpuDispatch.Vendor() == "GenuineIntel") Assert.Equal("Intel CPU", decision);
        else if (Avx512F.IsSupported) Assert.Contains("off", decision);
        else Assert.Contains("without AVX-512", decision);
    }
}
