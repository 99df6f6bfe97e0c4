using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using RnnCluster.CommandLine;
using RnnCluster.Numerics;

namespace RnnCluster.Bench.Commands;

/// <summary><c>rnncluster-bench sgemm</c>: MKL's sgemm GFLOP/s on an n x n square, the peak the engine is compared with.</summary>
public static class SgemmCommand
{
    public static Command Create()
    {
        var n = CliOptions.Int("--n", "N", "side of the square matrices", defaultValue: 512, min: 1);
        var threads = CliOptions.Int("--threads", "N", "MKL threads", defaultValue: 1, min: 1);
        var json = CliOptions.Flag("--json", "print one JSON object");
        var command = new Command("sgemm", "measure MKL's sgemm GFLOP/s (median of 15), the peak the engine is compared with") { n, threads, json };
        command.SetAction(r =>
        {
            int size = r.GetValue(n), t = r.GetValue(threads);
            MathBackend.Start(new MathOptions(MathKind.Mkl, t));
            var kernels = new MklKernels(t);
            var a = new float[size * size];
            var c = new float[size * size];
            for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
            for (int i = 0; i < 5; i++) kernels.Gemm(false, false, size, size, size, 1f, a, size, a, size, 0f, c, size);
            var times = new List<double>();
            for (int rep = 0; rep < 15; rep++)
            {
                long start = Stopwatch.GetTimestamp();
                kernels.Gemm(false, false, size, size, size, 1f, a, size, a, size, 0f, c, size);
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            times.Sort();
            double gflops = 2.0 * size * size * size / times[times.Count / 2] / 1e9;
            r.InvocationConfiguration.Output.WriteLine(r.GetValue(json)
                ? JsonSerializer.Serialize(new { n = size, threads = t, gflops, mkl = Mkl.Version, code_path = Mkl.CodePath, cpu_dispatch = Mkl.CpuDispatch, shim = Mkl.CpuDispatchShim })
                : $"sgemm {size}x{size} threads={t}: {gflops:0.0} GFLOP/s ({Mkl.Version}; code path {Mkl.CodePath}: {Mkl.CpuDispatch})");
            return 0;
        });
        return command;
    }
}
