using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using RnnCluster.CommandLine;

namespace RnnCluster.Bench.Commands;

/// <summary>
/// <c>rnncluster-bench step</c>: one training step (forward, backward, Adam) like
/// bench/peers/pytorch_rnn.py: median ms/step, GFLOP/s, bytes allocated per step after warm-up,
/// peak working set.
/// </summary>
public static class StepCommand
{
    public static Command Create()
    {
        var shape = new StepShape("lstm", 64, 100, 32, 128);
        var warmup = CliOptions.Int("--warmup", "N", "untimed steps first", defaultValue: 3, min: 0);
        var warmupSeconds = CliOptions.Number("--warmup-seconds", "S", "and at least this long", defaultValue: 1, min: 0);
        var iters = CliOptions.Int("--iters", "N", "timed steps", defaultValue: 10, min: 1);
        var json = CliOptions.Flag("--json", "print one JSON object");
        var command = new Command("step", "time one training step (forward, backward, Adam): median ms/step, GFLOP/s, bytes allocated per step, peak working set");
        shape.AddTo(command);
        command.Add(warmup);
        command.Add(warmupSeconds);
        command.Add(iters);
        command.Add(json);
        command.SetAction(r =>
        {
            int threads = r.GetValue(shape.Threads);
            var kernels = shape.StartMath(r, threads);
            string cellName = r.GetValue(shape.Cell)!, cell = StepShape.Kind(cellName);
            int b = r.GetValue(shape.Batch), t = r.GetValue(shape.Timesteps), d = r.GetValue(shape.Features), h = r.GetValue(shape.Hidden);
            var step = new TrainingStep(cell, b, t, d, h, kernels);
            var (ms, bytes) = step.Measure(r.GetValue(warmup), r.GetValue(warmupSeconds), r.GetValue(iters));
            double gflops = TrainingStep.Flops(cell, b, t, d, h) / (ms * 1e6);
            long peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
            var result = new { cell = cellName, B = b, T = t, D = d, H = h, threads, math = kernels.Kind.ToString().ToLowerInvariant(), ms, gflops, bytes_per_step = bytes, peak_working_set = peakWorkingSet };
            r.InvocationConfiguration.Output.WriteLine(r.GetValue(json) ? JsonSerializer.Serialize(result)
                : $"{result.cell} B={b} T={t} D={d} H={h} threads={threads} {result.math}: {ms:0.00} ms/step, {gflops:0.0} GFLOP/s, {bytes} B allocated/step, peak working set {peakWorkingSet / 1048576} MiB");
            return 0;
        });
        return command;
    }
}
