using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RnnCluster.Bench;
using RnnCluster.Model;
using RnnCluster.Numerics;

// rnncluster-bench step --cell rnn|lstm|gru --batch 64 --steps-time 100 --features 32 --hidden 128
//                       [--threads 1] [--math mkl|managed] [--warmup 3] [--warmup-seconds 1] [--iters 10] [--json]
//     one training step (forward, backward, Adam) like bench/peers/pytorch_rnn.py: median ms/step, GFLOP/s,
//     bytes allocated per step after warm-up, peak working set
// rnncluster-bench sgemm [--n 512] [--threads 1] [--json]      sgemm GFLOP/s (the peak the engine is compared with)
// rnncluster-bench profile --cell ... (step's options)          where a step's time goes (GEMMs, cell loops, optimizer)
// rnncluster-bench local --cell rnn --batch 256 --steps-time 50 --features 64 --hidden 512 [--workers 1,2]
//                        [--steps 12] [--warmup 3] [--rounds 2] [--optimizer adam|sgd] [--json]
//     local-mode scaling: samples/s of LocalMode with N workers and of the bare engine on the same steps
// rnncluster-bench first-step [--hidden 768] [--rounds 3]      a 7.1 M-parameter job's initial weights (QR managed vs MKL) and first step
// rnncluster-bench kernels                                     BenchmarkDotNet over the engine's kernels
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = ParseOptions(args.Skip(1).ToArray());
string Opt(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;
int IntOpt(string name, int fallback) => int.Parse(Opt(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
bool json = options.ContainsKey("json");
int threads = IntOpt("threads", 1);
string CellKind(string c) => c switch { "rnn" or "simple_rnn" => LayerKinds.SimpleRnn, _ => c };

switch (args.FirstOrDefault())
{
    case "step":
    {
        var kernels = MathBackend.Start(new MathOptions(MathOptions.ParseKind(Opt("math", "mkl")), threads));
        string cellName = Opt("cell", "lstm"), cell = CellKind(cellName);
        int b = IntOpt("batch", 64), t = IntOpt("steps-time", 100), d = IntOpt("features", 32), h = IntOpt("hidden", 128);
        var step = new TrainingStep(cell, b, t, d, h, kernels);
        double warmupSeconds = double.Parse(Opt("warmup-seconds", "1"), CultureInfo.InvariantCulture);
        var (ms, bytes) = step.Measure(IntOpt("warmup", 3), warmupSeconds, IntOpt("iters", 10));
        double gflops = TrainingStep.Flops(cell, b, t, d, h) / (ms * 1e6);
        long peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        var result = new { cell = cellName, B = b, T = t, D = d, H = h, threads, math = kernels.Kind.ToString().ToLowerInvariant(), ms, gflops, bytes_per_step = bytes, peak_working_set = peakWorkingSet };
        Console.WriteLine(json ? JsonSerializer.Serialize(result) : $"{result.cell} B={b} T={t} D={d} H={h} threads={threads} {result.math}: {ms:0.00} ms/step, {gflops:0.0} GFLOP/s, {bytes} B allocated/step, peak working set {peakWorkingSet / 1048576} MiB");
        break;
    }
    case "profile":
    {
        var kernels = MathBackend.Start(new MathOptions(MathOptions.ParseKind(Opt("math", "mkl")), threads));
        ProfileStep.Run(CellKind(Opt("cell", "lstm")), IntOpt("batch", 64), IntOpt("steps-time", 100), IntOpt("features", 32), IntOpt("hidden", 128),
            kernels, IntOpt("iters", 10), Console.Out);
        break;
    }
    case "sgemm":
    {
        MathBackend.Start(new MathOptions(MathKind.Mkl, threads));
        int n = IntOpt("n", 512);
        var kernels = new MklKernels(threads);
        var a = new float[n * n];
        var c = new float[n * n];
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
        Console.WriteLine(json ? JsonSerializer.Serialize(new { n, threads, gflops, mkl = Mkl.Version, code_path = Mkl.CodePath, cpu_dispatch = Mkl.CpuDispatch, shim = Mkl.CpuDispatchShim }) : $"sgemm {n}x{n} threads={threads}: {gflops:0.0} GFLOP/s ({Mkl.Version}; code path {Mkl.CodePath}: {Mkl.CpuDispatch})");
        break;
    }
    case "local":
    {
        // Workers use sequential MKL each (as local mode does); the bare engine runs on the same kernels.
        var kernels = MathBackend.Start(new MathOptions(MathOptions.ParseKind(Opt("math", "mkl")), 1));
        string cellName = Opt("cell", "rnn"), cell = CellKind(cellName);
        int b = IntOpt("batch", 256), t = IntOpt("steps-time", 50), d = IntOpt("features", 64), h = IntOpt("hidden", 512);
        int steps = IntOpt("steps", 12), warmup = IntOpt("warmup", 3), rounds = IntOpt("rounds", 2);
        var workerCounts = Opt("workers", "1,2").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
        var data = LocalScaling.SyntheticData(warmup + steps, b, t, d);
        var runs = new List<LocalScaling.Result>();
        // Alternate: bare, local x N1, local x N2, bare, ... so machine noise hits every mode alike.
        for (int r = 0; r < rounds; r++)
        {
            runs.Add(LocalScaling.RunBare(kernels, LocalScaling.Job(cell, b, h, Opt("optimizer", "adam"), data.Rows, t, 1), data, warmup, steps));
            if (!json) Console.Error.WriteLine($"  round {r + 1}: bare {runs[^1].SamplesPerSecond:0} samples/s; {runs[^1].Memory}");
            foreach (var w in workerCounts)
            {
                var job = LocalScaling.Job(cell, b, h, Opt("optimizer", "adam"), data.Rows, t, w);
                runs.Add(await LocalScaling.RunLocalAsync(kernels, job, data, w, warmup, steps));
                if (!json) Console.Error.WriteLine($"  round {r + 1}: local x{w} {runs[^1].SamplesPerSecond:0} samples/s; {runs[^1].Memory}");
            }
        }
        double Median(IEnumerable<double> values)
        {
            var s = values.OrderBy(v => v).ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
        double bare = Median(runs.Where(x => x.Mode == "bare").Select(x => x.SamplesPerSecond));
        var local = workerCounts.ToDictionary(w => w, w => Median(runs.Where(x => x.Mode == "local" && x.Workers == w).Select(x => x.SamplesPerSecond)));
        var summary = new
        {
            cell = cellName, B = b, T = t, D = d, H = h, steps, warmup, rounds, optimizer = Opt("optimizer", "adam"),
            bare_samples_per_s = bare,
            local_samples_per_s = local.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value),
            speedup_2_over_1 = local.TryGetValue(1, out var one) && local.TryGetValue(2, out var two) ? two / one : (double?)null,
            local1_over_bare = local.TryGetValue(1, out var l1) ? l1 / bare : (double?)null,
            runs,
        };
        if (json) Console.WriteLine(JsonSerializer.Serialize(summary));
        else
        {
            Console.WriteLine($"{cellName} B={b} T={t} D={d} H={h}, {steps} timed steps after {warmup}, median of {rounds} rounds:");
            Console.WriteLine($"  bare engine   {bare,8:0} samples/s");
            foreach (var (w, sps) in local) Console.WriteLine($"  local x{w,-3}     {sps,8:0} samples/s  ({sps / bare:0.000} of bare)");
            if (summary.speedup_2_over_1 is { } s) Console.WriteLine($"  2 workers / 1 worker: {s:0.00}x");
        }
        break;
    }
    case "grad":
    {
        // One gradient (fixed data and weights) written as raw float32 to --out: compare runs with
        // different --threads to check the row-split time loop against the one-thread loop.
        var kernels = MathBackend.Start(new MathOptions(MathOptions.ParseKind(Opt("math", "mkl")), threads));
        var step = new TrainingStep(CellKind(Opt("cell", "lstm")), IntOpt("batch", 64), IntOpt("steps-time", 100), IntOpt("features", 32), IntOpt("hidden", 128), kernels);
        var (loss, gradient) = step.Gradient();
        File.WriteAllBytes(Opt("out", "grad.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        Console.WriteLine($"loss {loss:R}, {gradient.Length} gradient values written to {Opt("out", "grad.bin")}");
        break;
    }
    case "first-step":
        FirstStepBench.Run(MathBackend.Start(new MathOptions(MathKind.Mkl, threads)), IntOpt("features", 1), IntOpt("hidden", 768), IntOpt("batch", 64), IntOpt("steps-time", 10), IntOpt("seed", 7), IntOpt("rounds", 3), Console.Out);
        break;
    case "kernels":
        BenchmarkDotNet.Running.BenchmarkRunner.Run<KernelBenchmarks>(args: args.Skip(1).ToArray());
        break;
    default:
        Console.Error.WriteLine("usage: rnncluster-bench step|profile|sgemm|local|kernels [options] (see the comment at the top of bench/RnnCluster.Bench/Program.cs)");
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
