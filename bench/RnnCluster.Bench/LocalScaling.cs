using System.Diagnostics;
using RnnCluster.Coordinator;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;

namespace RnnCluster.Bench;

/// <summary>
/// Local-mode scaling: samples/s of a synthetic job (random x, y of one shape; zero initial
/// states; no shuffle, no validation) trained by <see cref="LocalMode"/> with N worker actors,
/// and of the bare engine (<see cref="GradientComputer"/> + the same optimizer, in this thread)
/// on the same batches. Timed from the end of the warm-up steps to the end of the last step.
/// </summary>
public static class LocalScaling
{
    public sealed record Result(string Mode, int Workers, int Steps, double Seconds, double SamplesPerSecond, double MsPerStep);

    public static Dataset SyntheticData(int batches, int batch, int timesteps, int features, int seed = 1)
    {
        var random = new Random(seed);
        int rows = batches * batch;
        var x = new float[rows * timesteps * features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble() - 0.5f;
        var y = new float[rows];
        for (int i = 0; i < y.Length; i++) y[i] = (float)random.NextDouble();
        return new Dataset(new Tensor(x, rows, timesteps, features), new Tensor(y, rows, 1), [], $"random x ({rows}, {timesteps}, {features}), y ({rows}, 1)");
    }

    public static JobSpec Job(string cell, int batch, int units, string optimizer, int rows, int timesteps, int workers) => new()
    {
        Name = "local-scaling",
        Model = new JobModel
        {
            Layers = [new LayerSpec { Kind = cell, Units = units }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }],
        },
        Loss = "mse",
        Optimizer = optimizer == "sgd" ? new OptimizerSpec { Kind = "sgd", LearningRate = 0.01f } : new OptimizerSpec { Kind = "adam", LearningRate = 1e-3f },
        // The data travels with the job (StartJob carries x and y); this only describes it.
        Data = new DataSpec { Source = DataSpec.BuiltinSource, Rows = rows, Timesteps = timesteps },
        BatchSize = batch,
        Epochs = 1,
        Shuffle = false,
        States = new StatePolicy { Policy = StatePolicyKind.Zeros },
        MinWorkers = workers,
        Seed = 1,
    };

    /// <summary>Local mode with <paramref name="workers"/> workers: <paramref name="warmup"/> untimed steps, then <paramref name="steps"/> timed ones.</summary>
    public static async Task<Result> RunLocalAsync(IMathKernels kernels, JobSpec job, Dataset data, int workers, int warmup, int steps)
    {
        await using var local = LocalMode.Start(workers, kernels, logLevel: "WARNING", name: $"bench-{workers}");
        await local.WaitForWorkersAsync(TimeSpan.FromSeconds(30));
        using var handle = await local.Client.StartWatchedJobAsync(job, data);
        int done = 0;
        long start = 0, end = 0;
        await foreach (var e in handle.Events())
        {
            switch (e)
            {
                case StepCompleted s:
                    if (s.Workers != workers) throw new InvalidOperationException($"step ran on {s.Workers} workers, expected {workers}");
                    done++;
                    if (done == warmup) start = Stopwatch.GetTimestamp();
                    if (done == warmup + steps) end = Stopwatch.GetTimestamp();
                    break;
                case JobFailed f:
                    throw new InvalidOperationException($"local-mode job failed: {f.Reason}");
            }
        }
        if (end == 0) throw new InvalidOperationException($"the job ran {done} steps; expected {warmup + steps}");
        double seconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
        return new Result("local", workers, steps, seconds, steps * job.BatchSize / seconds, seconds * 1e3 / steps);
    }

    /// <summary>The bare engine on the same batches, as the coordinator does a step: gradient sum, / B, optimizer.</summary>
    public static Result RunBare(IMathKernels kernels, JobSpec job, Dataset data, int warmup, int steps)
    {
        int batch = job.BatchSize, t = data.Timesteps, d = data.Features;
        var network = new Network(job.ModelFor(d), kernels);
        var computer = new GradientComputer(network, job.CreateLoss());
        var parameters = Initializers.InitialParameters(network, job.Seed);
        var gradients = new float[network.ParameterCount];
        var optimizer = job.Optimizer.Create();
        int xRow = t * d, yRow = data.Y.Length / data.Rows;
        long start = 0;
        for (int i = 0; i < warmup + steps; i++)
        {
            if (i == warmup) start = Stopwatch.GetTimestamp();
            var x = data.X.Data.AsSpan(i * batch * xRow, batch * xRow);
            var y = data.Y.Data.AsSpan(i * batch * yRow, batch * yRow);
            computer.Compute(parameters, x, y, batch, t, null, gradients);
            kernels.Scale(1f / batch, gradients);
            optimizer.Step(parameters, gradients);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new Result("bare", 1, steps, seconds, steps * batch / seconds, seconds * 1e3 / steps);
    }
}
