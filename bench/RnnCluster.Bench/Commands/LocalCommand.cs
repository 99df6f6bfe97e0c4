using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RnnCluster.CommandLine;

namespace RnnCluster.Bench.Commands;

/// <summary>
/// <c>rnncluster-bench local</c>: local-mode scaling, samples/s of LocalMode with N workers and of
/// the bare engine on the same steps, alternating so machine noise hits every mode alike.
/// </summary>
public static class LocalCommand
{
    public static Command Create()
    {
        var shape = new StepShape("rnn", 256, 50, 64, 512);
        var workers = CliOptions.Text("--workers", "N,M", "worker counts to measure, comma-separated", "1,2");
        var steps = CliOptions.Int("--steps", "N", "timed steps per run", defaultValue: 12, min: 1);
        var warmup = CliOptions.Int("--warmup", "N", "untimed steps first", defaultValue: 3, min: 0);
        var rounds = CliOptions.Int("--rounds", "N", "alternating rounds (the median is reported)", defaultValue: 2, min: 1);
        var optimizer = CliOptions.OneOf("--optimizer", "optimizer", "adam", "adam", "sgd");
        var json = CliOptions.Flag("--json", "print one JSON object");
        var command = new Command("local", "measure local-mode scaling: samples/s with N workers against the bare engine on the same steps");
        shape.AddTo(command, threads: false);
        command.Add(workers);
        command.Add(steps);
        command.Add(warmup);
        command.Add(rounds);
        command.Add(optimizer);
        command.Add(json);
        command.SetAction(async (r, _) =>
        {
            var output = r.InvocationConfiguration.Output;
            var log = r.InvocationConfiguration.Error;
            bool asJson = r.GetValue(json);
            // Workers use sequential MKL each (as local mode does); the bare engine runs on the same kernels.
            var kernels = shape.StartMath(r, 1);
            string cellName = r.GetValue(shape.Cell)!, cell = StepShape.Kind(cellName), opt = r.GetValue(optimizer)!;
            int b = r.GetValue(shape.Batch), t = r.GetValue(shape.Timesteps), d = r.GetValue(shape.Features), h = r.GetValue(shape.Hidden);
            int timed = r.GetValue(steps), warm = r.GetValue(warmup), roundCount = r.GetValue(rounds);
            var workerCounts = WorkerCounts(r.GetValue(workers)!);
            var data = LocalScaling.SyntheticData(warm + timed, b, t, d);
            var runs = new List<LocalScaling.Result>();
            for (int round = 0; round < roundCount; round++)
            {
                runs.Add(LocalScaling.RunBare(kernels, LocalScaling.Job(cell, b, h, opt, data.Rows, t, 1), data, warm, timed));
                if (!asJson) log.WriteLine($"  round {round + 1}: bare {runs[^1].SamplesPerSecond:0} samples/s; {runs[^1].Memory}");
                foreach (var w in workerCounts)
                {
                    runs.Add(await LocalScaling.RunLocalAsync(kernels, LocalScaling.Job(cell, b, h, opt, data.Rows, t, w), data, w, warm, timed));
                    if (!asJson) log.WriteLine($"  round {round + 1}: local x{w} {runs[^1].SamplesPerSecond:0} samples/s; {runs[^1].Memory}");
                }
            }
            double bare = Median(runs.Where(x => x.Mode == "bare").Select(x => x.SamplesPerSecond));
            var local = workerCounts.ToDictionary(w => w, w => Median(runs.Where(x => x.Mode == "local" && x.Workers == w).Select(x => x.SamplesPerSecond)));
            var summary = new
            {
                cell = cellName, B = b, T = t, D = d, H = h, steps = timed, warmup = warm, rounds = roundCount, optimizer = opt,
                bare_samples_per_s = bare,
                local_samples_per_s = local.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value),
                speedup_2_over_1 = local.TryGetValue(1, out var one) && local.TryGetValue(2, out var two) ? two / one : (double?)null,
                local1_over_bare = local.TryGetValue(1, out var l1) ? l1 / bare : (double?)null,
                runs,
            };
            if (asJson)
            {
                output.WriteLine(JsonSerializer.Serialize(summary));
                return 0;
            }
            output.WriteLine($"{cellName} B={b} T={t} D={d} H={h}, {timed} timed steps after {warm}, median of {roundCount} rounds:");
            output.WriteLine($"  bare engine   {bare,8:0} samples/s");
            foreach (var (w, sps) in local) output.WriteLine($"  local x{w,-3}     {sps,8:0} samples/s  ({sps / bare:0.000} of bare)");
            if (summary.speedup_2_over_1 is { } s) output.WriteLine($"  2 workers / 1 worker: {s:0.00}x");
            return 0;
        });
        return command;
    }

    private static int[] WorkerCounts(string text)
    {
        var counts = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
                throw new UsageException($"--workers expects worker counts of at least 1 separated by commas, got '{text}'");
            counts.Add(n);
        }
        if (counts.Count == 0) throw new UsageException("--workers is empty");
        return [.. counts];
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
