using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// The CPU-dispatch shim (deploy/mkl-cpu-dispatch.c), checked against facts the code under test does
/// not compute: the CPU's vendor and flags as the kernel reports them in /proc/cpuinfo, the shim's
/// file at the path deploy/install-mkl.sh builds it to, and the code path MKL itself says it chose.
/// On a non-Intel CPU with AVX-512 (./test.sh runs deploy/install-mkl.sh, which builds the shim)
/// the shim must be on disk and MKL must run its AVX-512 kernels; elsewhere it must not be loaded.
/// The parity and gradient tests run on whatever kernels this process got, so with the shim they
/// check MKL's AVX-512 kernels.
/// </summary>
public sealed class MklCpuDispatchTests
{
    /// <summary>Where deploy/install-mkl.sh puts the shim (written out here, not taken from the code under test).</summary>
    private const string InstalledShim = "/usr/local/lib/rnncluster/libmkl-cpu-dispatch.so";

    private sealed record Cpu(string Vendor, bool Avx512F);

    /// <summary>The first processor's vendor_id and whether its flags list avx512f.</summary>
    private static Cpu ReadCpuInfo()
    {
        Assert.True(File.Exists("/proc/cpuinfo"), "RnnCluster's MKL runs on Linux: /proc/cpuinfo is missing");
        string? vendor = null, flags = null;
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            if (key == "vendor_id") vendor ??= line[(colon + 1)..].Trim();
            else if (key == "flags") flags ??= line[(colon + 1)..];
            if (vendor is not null && flags is not null) break;
        }
        Assert.True(vendor is not null && flags is not null, "/proc/cpuinfo has no vendor_id or flags line");
        return new Cpu(vendor!, flags!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("avx512f"));
    }

    private static bool DispatchOff =>
        Environment.GetEnvironmentVariable(MathOptions.CpuDispatchVariable)?.Trim().ToLowerInvariant() == "off";

    [Fact]
    public void Mkl_runs_the_kernels_the_cpu_and_the_installed_shim_allow()
    {
        var cpu = ReadCpuInfo();
        MathBackend.Start(new MathOptions(MathKind.Mkl));
        var facts = $"{cpu.Vendor}, avx512f {(cpu.Avx512F ? "yes" : "no")}, shim {(File.Exists(InstalledShim) ? "present" : "missing")}; " +
            $"MKL: code path {Mkl.CodePath}, dispatch '{Mkl.CpuDispatch}'";

        if (cpu.Vendor != "GenuineIntel" && cpu.Avx512F && !DispatchOff)
        {
            Assert.True(File.Exists(InstalledShim),
                $"a non-Intel CPU with AVX-512 needs {InstalledShim} for MKL's AVX-512 kernels, and it is missing: run deploy/install-mkl.sh ({facts})");
            Assert.Equal(InstalledShim, Mkl.CpuDispatchShim);
            Assert.True(Mkl.CodePath.StartsWith("AVX512", StringComparison.Ordinal), $"MKL did not choose its AVX-512 kernels: {facts}");
        }
        else
        {
            Assert.Null(Mkl.CpuDispatchShim);
            if (cpu.Vendor == "GenuineIntel") Assert.Equal("Intel CPU", Mkl.CpuDispatch);
            if (!cpu.Avx512F || (cpu.Vendor != "GenuineIntel" && DispatchOff))
                Assert.False(Mkl.CodePath.StartsWith("AVX512", StringComparison.Ordinal), $"AVX-512 kernels where none can run: {facts}");
        }
        Assert.Contains(Mkl.CodePath, MathBackend.Describe(MathBackend.Start(new MathOptions(MathKind.Mkl))));
    }

    [Fact]
    public void The_vendor_read_through_cpuid_is_the_one_the_kernel_reports()
    {
        Assert.Equal(ReadCpuInfo().Vendor, MklCpuDispatch.Vendor());
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
        var cpu = ReadCpuInfo();
        var decision = MklCpuDispatch.Apply("off");
        if (cpu.Vendor == "GenuineIntel") Assert.Equal("Intel CPU", decision);
        else if (cpu.Avx512F) Assert.Equal($"{cpu.Vendor} CPU, AVX-512 kernels off ({MathOptions.CpuDispatchVariable}=off)", decision);
        else Assert.Equal($"{cpu.Vendor} CPU without AVX-512", decision);
    }
}
