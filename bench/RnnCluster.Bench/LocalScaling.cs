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
/// on the same batches. Timed from the end of the warm-up steps to the end of the last step,
/// with the memory cost of those steps (<see cref="MemoryCost"/>).
/// </summary>
public static class LocalScaling
{
    public sealed record Result(string Mode, int Workers, int Steps, double Seconds, double SamplesPerSecond, double MsPerStep,
        MemoryCost Memory);

    /// <summary>
    /// What memory cost over the timed steps, for the whole process (every actor's thread):
    /// garbage collections per generation, GC pause time, bytes allocated and minor page faults
    /// per step. Page faults show what the GC counters do not: a large array allocated every step
    /// lands in memory not yet touched, and on the bench VM every first touch of a 4 KiB page
    /// costs about 12 us (a fresh 3.2 MB array: 800 faults, ~10 ms to fill; a reused one: 0.2 ms).
    /// </summary>
    public sealed record MemoryCost(int Gen0, int Gen1, int Gen2, double GcPauseMsPerStep, double AllocatedKbPerStep, double? PageFaultsPerStep)
    {
        public override string ToString() =>
            $"GC {Gen0}/{Gen1}/{Gen2} (gen0/1/2), pause {GcPauseMsPerStep:0.00} ms/step, {AllocatedKbPerStep:0} KB allocated/step, {PageFaultsPerStep?.ToString("0", System.Globalization.CultureInfo.InvariantCulture) ?? "?"} page faults/step";
    }

    /// <summary>The counters behind <see cref="MemoryCost"/> at one moment.</summary>
    private readonly record struct MemorySnapshot(int Gen0, int Gen1, int Gen2, TimeSpan Pause, long Allocated, long PageFaults)
    {
        public static MemorySnapshot Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
            GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(precise: true), MinorPageFaults());

        public MemoryCost Since(MemorySnapshot start, int steps) => new(Gen0 - start.Gen0, Gen1 - start.Gen1, Gen2 - start.Gen2,
            (Pause - start.Pause).TotalMilliseconds / steps, (Allocated - start.Allocated) / 1024.0 / steps,
            PageFaults < 0 ? null : (double)(PageFaults - start.PageFaults) / steps);

        /// <summary>The process's minor page faults so far (Linux: /proc/self/stat field 10), or -1 where unavailable.</summary>
        private static long MinorPageFaults()
        {
            try
            {
                // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, minflt field 10.
                var stat = File.ReadAllText("/proc/self/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[10 - 3], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return -1;
            }
            catch (UnauthorizedAccessException)
            {
                return -1;
            }
        }
    }

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
        MemorySnapshot memoryStart = default, memoryEnd = default;
        await foreach (var e in handle.Events())
        {
            switch (e)
            {
                case StepCompleted s:
                    if (s.Workers != workers) throw new InvalidOperationException($"step ran on {s.Workers} workers, expected {workers}");
                    done++;
                    if (done == warmup)
                    {
                        start = Stopwatch.GetTimestamp();
                        memoryStart = MemorySnapshot.Now();
                    }
                    if (done == warmup + steps)
                    {
                        end = Stopwatch.GetTimestamp();
                        memoryEnd = MemorySnapshot.Now();
                    }
                    break;
                case JobFailed f:
                    throw new InvalidOperationException($"local-mode job failed: {f.Reason}");
            }
        }
        if (end == 0) throw new InvalidOperationException($"the job ran {done} steps; expected {warmup + steps}");
        double seconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
        return new Result("local", workers, steps, seconds, steps * job.BatchSize / seconds, seconds * 1e3 / steps, memoryEnd.Since(memoryStart, steps));
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
        MemorySnapshot memoryStart = default;
        for (int i = 0; i < warmup + steps; i++)
        {
            if (i == warmup)
            {
                start = Stopwatch.GetTimestamp();
                memoryStart = MemorySnapshot.Now();
            }
            var x = data.X.Data.AsSpan(i * batch * xRow, batch * xRow);
            var y = data.Y.Data.AsSpan(i * batch * yRow, batch * yRow);
            computer.Compute(parameters, x, y, batch, t, null, gradients);
            kernels.Scale(1f / batch, gradients);
            optimizer.Step(parameters, gradients);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var memory = MemorySnapshot.Now().Since(memoryStart, steps);
        return new Result("bare", 1, steps, seconds, steps * batch / seconds, seconds * 1e3 / steps, memory);
    }
}
