using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RnnCluster.Bench;
using RnnCluster.Model;
using RnnCluster.Numerics;

// rnncluster-bench step --cell lstm --batch 64 --steps-time 100 --features 32 --hidden 128 [--threads 1] [--math mkl] [--warmup 3] [--iters 10] [--json]
// rnncluster-bench sgemm [--n 512] [--threads 1]          single-core sgemm GFLOP/s (the peak the engine is compared with)
// rnncluster-bench kernels                                 BenchmarkDotNet over the engine's kernels
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = ParseOptions(args.Skip(1).ToArray());
string Opt(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;
int threads = int.Parse(Opt("threads", "1"));

switch (args.FirstOrDefault())
{
    case "step":
    {
        var kernels = MathBackend.Start(new MathOptions(MathOptions.ParseKind(Opt("math", "mkl")), threads));
        string cell = Opt("cell", "lstm") switch { "rnn" or "simple_rnn" => LayerKinds.SimpleRnn, var c => c };
        int b = int.Parse(Opt("batch", "64")), t = int.Parse(Opt("steps-time", "100")), d = int.Parse(Opt("features", "32")), h = int.Parse(Opt("hidden", "128"));
        var step = new TrainingStep(cell, b, t, d, h, kernels);
        var (ms, bytes) = step.Measure(int.Parse(Opt("warmup", "3")), int.Parse(Opt("iters", "10")));
        double gflops = TrainingStep.Flops(cell, b, t, d, h) / (ms * 1e6);
        long peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        var result = new { cell = Opt("cell", "lstm"), B = b, T = t, D = d, H = h, threads, math = kernels.Kind.ToString().ToLowerInvariant(), ms, gflops, bytes_per_step = bytes, peak_working_set = peakWorkingSet };
        Console.WriteLine(options.ContainsKey("json") ? JsonSerializer.Serialize(result) : $"{result.cell} B={b} T={t} D={d} H={h} threads={threads} {result.math}: {ms:0.00} ms/step, {gflops:0.0} GFLOP/s, {bytes} B allocated/step, peak working set {peakWorkingSet / 1048576} MiB");
        break;
    }
    case "sgemm":
    {
        MathBackend.Start(new MathOptions(MathKind.Mkl, threads));
        int n = int.Parse(Opt("n", "512"));
        var kernels = new MklKernels(threads);
        var a = new float[n * n];
        var c = new float[n * n];
        new Random(1).NextBytes(new byte[1]);
        for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
        for (int i = 0; i < 5; i++) kernels.Gemm(false, false, n, n, n, 1f, a, n, a, n, 0f, c, n);
        var times = new List<double>();
        for (int r = 0; r < 15; r++)
        {
            long start = Stopwatch.GetTimestamp();
            kernels.Gemm(false, false, n, n, n, 1f, a, n, a, n, 0f, c, n);
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        times.Sort();
        double gflops = 2.0 * n * n * n / times[times.Count / 2] / 1e9;
        Console.WriteLine(options.ContainsKey("json") ? JsonSerializer.Serialize(new { n, threads, gflops }) : $"sgemm {n}x{n} threads={threads}: {gflops:0.0} GFLOP/s");
        break;
    }
    case "kernels":
        BenchmarkDotNet.Running.BenchmarkRunner.Run<KernelBenchmarks>(args: args.Skip(1).ToArray());
        break;
    default:
        Console.Error.WriteLine("usage: rnncluster-bench step|sgemm|kernels [options] (see bench/README.md)");
        return 2;
}
return 0;

static Dictionary<string, string> ParseOptions(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) continue;
        var name = args[i][2..];
        if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) result[name] = args[++i];
        else result[name] = "true";
    }
    return result;
}
