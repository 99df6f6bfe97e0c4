using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Model.Recurrent;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Model;

/// <summary>
/// The unroller's two-thread path (RNNCLUSTER_MKL_THREADS=2: the time loop split by batch rows
/// across two threads) trains to the weights of the one-thread path, up to summation order.
/// MKL's thread count is fixed per process, so each run is a real <c>rnncluster train</c> child
/// process. The model stacks all three cell kinds: each layer decides on its first pass whether
/// to split, and the later layers must decide as the first did (a first split pass sets the
/// calling thread's own MKL count to 1; the decision reads the process's configured count).
/// </summary>
[Collection(ClusterCollection.Name)] // Runs alone: the children load both cores.
public sealed class TwoThreadTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The line <c>rnncluster train</c> ends with when MKL has more than one thread.</summary>
    private const string SplitReport = "recurrent passes split over two threads:";

    /// <summary>
    /// Of each tensor's largest magnitude. One step differs by summation order only (below 1e-6
    /// of the largest gradient); 27 steps of this small stacked model magnify that to a few 1e-5
    /// (worst seen: 8e-5 of layer0.bias with MKL's AVX-512 kernels). A split that lost or mixed up
    /// rows would differ by the size of the training moves themselves.
    /// </summary>
    private const double Tolerance = 2e-4;

    /// <summary>Every tensor must move at least this much, so agreeing within the tolerance says something.</summary>
    private const double MinimumMove = 1e-2;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("rnncluster-two-threads-");

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    [Fact]
    public async Task Two_mkl_threads_split_the_time_loop_and_train_to_the_weights_of_one()
    {
        var job = Job();
        var jobPath = Path.Combine(_dir.FullName, "job.json");
        File.WriteAllText(jobPath, job.ToJson());

        var one = await TrainAsync(jobPath, mklThreads: 1);
        var two = await TrainAsync(jobPath, mklThreads: 2);

        Assert.Contains("threading layer sequential", one.Output);
        Assert.DoesNotContain(SplitReport, one.Output);
        Assert.Contains("threading layer gnu-openmp x2", two.Output);
        // Every recurrent layer splits its 4 passes (projection and loop, forward and backward) on
        // each of the 27 training steps; validation adds forward passes.
        var split = Regex.Match(two.Output, Regex.Escape(SplitReport) + @" (\d+)");
        Assert.True(split.Success, $"two MKL threads, yet no '{SplitReport}' line:\n{two.Output}");
        Assert.True(long.Parse(split.Groups[1].Value, CultureInfo.InvariantCulture) >= 3 * 4 * 27,
            $"two MKL threads, yet too few passes were split: {split.Value}");

        var initial = InitialWeights(job);
        var trainedOnOne = Weights(one.OutDir);
        var trainedOnTwo = Weights(two.OutDir);
        var names = initial.Select(w => w.Name).ToList();
        Assert.Equal(names, trainedOnOne.Select(w => w.Name));
        Assert.Equal(names, trainedOnTwo.Select(w => w.Name));
        // Training moved every tensor far beyond the tolerance, so agreeing within it says something.
        for (int k = 0; k < names.Count; k++)
        {
            double moved = LargestDifference(initial[k], trainedOnOne[k]);
            output.WriteLine($"{names[k]}: moved up to {moved:0.0e0}; one and two threads differ up to {LargestDifference(trainedOnOne[k], trainedOnTwo[k]):0.0e0}");
            Assert.True(moved > MinimumMove, $"{names[k]} moved only {moved} from its initial values");
        }
        ClusterJobs.AssertClose(trainedOnOne, trainedOnTwo, relative: Tolerance, ofTensorMax: true);
    }

    /// <summary>
    /// The same split in process on managed math given two threads: the unroller runs the same
    /// code path on both backends (packed per-step products, the row splitter), so one gradient of
    /// the stacked model, with initial states and go_backwards, matches the one-thread gradient up to
    /// summation order, and the split really happened.
    /// </summary>
    [Fact]
    public void Managed_math_with_two_threads_splits_the_time_loop_to_the_gradient_of_one()
    {
        var spec = new ModelSpec
        {
            InputFeatures = 3,
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 8, ReturnSequences = true },
                new LayerSpec { Kind = LayerKinds.Lstm, Units = 8, ReturnSequences = true, GoBackwards = true },
                new LayerSpec { Kind = LayerKinds.Gru, Units = 8 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 2 },
            ],
        };
        const int batch = 32, timesteps = 6;
        var random = new Random(3);
        float Next() => (float)random.NextDouble() - 0.5f;
        var x = Enumerable.Range(0, batch * timesteps * 3).Select(_ => Next()).ToArray();
        var y = Enumerable.Range(0, batch * 2).Select(_ => Next()).ToArray();

        (float[] Gradient, float[] StateGradient) Gradient(IMathKernels kernels)
        {
            var network = new Network(spec, kernels);
            var states = network.StateSlots.Select(s => (Tensor?)new Tensor(Enumerable.Range(0, batch * s.Units).Select(_ => 0.3f * Next()).ToArray(), batch, s.Units)).ToArray();
            var parameters = Initializers.InitialParameters(network, 5);
            var gradient = new float[network.ParameterCount];
            new GradientComputer(network, new MeanSquaredError()).Compute(parameters, x, y, batch, timesteps, states, gradient);
            return (gradient, network.InitialStateGrad(0).ToArray());
        }

        var seed = random.Next();
        random = new Random(seed);
        var one = Gradient(new ManagedKernels());
        long before = TimeLoopThreads.SplitPasses;
        random = new Random(seed);
        var two = Gradient(new ManagedKernels(threads: 2));
        Assert.True(TimeLoopThreads.SplitPasses - before >= 3 * 4, $"only {TimeLoopThreads.SplitPasses - before} passes split");

        double largest = one.Gradient.Max(MathF.Abs);
        Assert.True(largest > 1e-3, $"the gradient is too small to say anything: {largest}");
        for (int i = 0; i < one.Gradient.Length; i++)
            Assert.True(Math.Abs(one.Gradient[i] - two.Gradient[i]) <= 1e-5 * largest, $"gradient[{i}]: one thread {one.Gradient[i]}, two {two.Gradient[i]}");
        Assert.Equal(one.StateGradient, two.StateGradient); // per row: no sum across the split
    }

    /// <summary>
    /// The default job made small, with SimpleRNN, LSTM and GRU stacked: builtin data whose rows bring
    /// their own initial states, so each half of a split keeps its rows' states. One worker, so a
    /// step's shard is the whole batch: 32 rows, split into halves of 16, above the unroller's
    /// minimum of 8 rows per half. 320 rows leave 288 training rows, nine whole batches: few steps,
    /// because this small stacked model amplifies summation-order noise over many steps (1, 2 and
    /// 3 local workers drift apart too).
    /// </summary>
    private static JobSpec Job() => DefaultJob.Spec with
    {
        Name = "two-threads",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 16, ReturnSequences = true },
                new LayerSpec { Kind = LayerKinds.Lstm, Units = 16, ReturnSequences = true },
                new LayerSpec { Kind = LayerKinds.Gru, Units = 16 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        // SGD, not Adam: Adam divides by each gradient's running magnitude, which magnifies
        // summation-order noise where gradients are near zero.
        Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 0.05f },
        Data = DefaultJob.Spec.Data with { Rows = 320 },
        BatchSize = 32,
        Epochs = 3,
    };

    private sealed record TrainRun(string OutDir, string Output);

    /// <summary>Runs <c>rnncluster train</c> to its end; killed after <see cref="ChildTimeout"/>.</summary>
    private async Task<TrainRun> TrainAsync(string jobPath, int mklThreads)
    {
        var outDir = Path.Combine(_dir.FullName, $"out-{mklThreads}-threads");
        var environment = new Dictionary<string, string>
        {
            [MathOptions.ThreadsVariable] = mklThreads.ToString(CultureInfo.InvariantCulture),
            [MathOptions.KindVariable] = "mkl",
        };
        using var child = RunningProcess.Start(ProcessCluster.Dll("rnncluster"), environment,
            "train", jobPath, "--workers", "1", "--out", outDir);
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(ChildTimeout);
        try
        {
            await child.Process.WaitForExitAsync(timeout.Token); // async: the output readers need pool threads
        }
        catch (OperationCanceledException)
        {
            child.Kill();
            Assert.Fail($"rnncluster train with {mklThreads} MKL thread(s) did not end within {ChildTimeout.TotalSeconds} s:\n{child.Output}\n{child.Error}");
        }
        output.WriteLine($"{mklThreads} MKL thread(s): {clock.Elapsed.TotalSeconds:0.0} s\n{child.Output}");
        Assert.True(child.Process.ExitCode == 0, $"rnncluster train with {mklThreads} MKL thread(s) exited with {child.Process.ExitCode}: {child.Error}");
        return new TrainRun(outDir, child.Output);
    }

    /// <summary>The weights the coordinator starts the job from (same seed, same layout).</summary>
    private static List<NamedTensor> InitialWeights(JobSpec job)
    {
        var network = new Network(job.ModelFor(features: 1), new ManagedKernels());
        var parameters = Initializers.InitialParameters(network, job.Seed);
        return [.. NamedWeights.FromFlat(network, parameters).Select(w => new NamedTensor(w.Key, w.Value))];
    }

    private static List<NamedTensor> Weights(string outDir) =>
        [.. WeightsFile.Load(Path.Combine(outDir, "weights.npz")).Select(w => new NamedTensor(w.Key, w.Value))];

    private static double LargestDifference(NamedTensor a, NamedTensor b) =>
        a.Value.Data.Zip(b.Value.Data, (x, y) => Math.Abs((double)x - y)).Max();
}
