using RnnCluster.Coordinator.Actors;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Tests.Actors;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Model;

/// <summary>
/// Variable-length sequences as a job gives them (npz <c>lengths</c> + a masking layer): loading
/// and padding, and training over 1, 2 and 3 workers against <see cref="Sequential.Fit"/>, where a
/// masked sequence loss is divided by the unmasked steps of the whole global batch.
/// </summary>
public sealed class VariableLengthJobTests(ITestOutputHelper output) : IDisposable
{
    private const int Rows = 70, Timesteps = 7, Features = 2;

    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "rnncluster-varlen-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Rows of random steps with lengths 1..T; the padding holds garbage (5.0), which the loader
    /// must replace by the mask value. y: a running sum of the first feature at every step.
    /// </summary>
    private string WriteData(bool withLengths = true, int[]? lengths = null)
    {
        var random = new Random(17);
        var x = new float[Rows * Timesteps * Features];
        var y = new float[Rows * Timesteps];
        lengths ??= [.. Enumerable.Range(0, Rows).Select(_ => 1 + random.Next(Timesteps))];
        for (int b = 0; b < Rows; b++)
        {
            float sum = 0;
            for (int t = 0; t < Timesteps; t++)
            {
                for (int f = 0; f < Features; f++)
                    x[(b * Timesteps + t) * Features + f] = t < lengths[b] ? (float)(random.NextDouble() * 2 - 1) : 5f;
                sum += x[(b * Timesteps + t) * Features];
                y[b * Timesteps + t] = t < lengths[b] ? sum / 3 : 99f;
            }
        }
        var path = Path.Combine(_dir, "varlen.npz");
        var arrays = new List<KeyValuePair<string, NpyArray>>
        {
            new("x", NpyArray.FromFloats(x, Rows, Timesteps, Features)),
            new("y", NpyArray.FromFloats(y, Rows, Timesteps, 1)),
        };
        if (withLengths) arrays.Add(new("lengths", NpyArray.FromInts(lengths)));
        Npz.WriteFile(path, arrays);
        return path;
    }

    private static JobSpec Job(string path, params LayerSpec[] layers) => new()
    {
        Name = "varlen",
        Model = new JobModel { Layers = layers },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
        Data = new DataSpec { Source = DataSpec.NpzSource, Path = path },
        BatchSize = 16,
        Epochs = 2,
        ValidationSplit = 0.2,
        Metrics = ["mae"],
        Seed = 5,
    };

    private static readonly LayerSpec[] MaskedLayers =
    [
        new() { Kind = LayerKinds.Masking },
        new() { Kind = LayerKinds.Lstm, Units = 5, ReturnSequences = true },
        new() { Kind = LayerKinds.Gru, Units = 4, ReturnSequences = true, GoBackwards = true },
        new() { Kind = LayerKinds.Dense, Units = 1 },
    ];

    [Fact]
    public void Lengths_pad_each_row_with_the_mask_value()
    {
        var job = Job(WriteData(), MaskedLayers) with { Model = new JobModel { Layers = [MaskedLayers[0] with { MaskValue = -2f }, .. MaskedLayers[1..]] } };
        var data = DataLoader.Load(job, "job");
        Assert.NotNull(data.Lengths);
        Assert.Contains("lengths 1..7", data.Description);
        for (int b = 0; b < Rows; b++)
            for (int t = 0; t < Timesteps; t++)
            {
                var step = data.X.Data.AsSpan((b * Timesteps + t) * Features, Features).ToArray();
                if (t < data.Lengths![b]) Assert.DoesNotContain(-2f, step);
                else Assert.All(step, v => Assert.Equal(-2f, v));
            }
    }

    [Fact]
    public void Lengths_without_a_masking_layer_or_out_of_range_are_errors()
    {
        var noMask = Job(WriteData(), MaskedLayers[1..]);
        var e = Assert.Throws<JobException>(() => DataLoader.Load(noMask, "job"));
        Assert.Contains("no masking layer", e.Message);
        var bad = Job(WriteData(lengths: [.. Enumerable.Repeat(3, Rows - 1), Timesteps + 1]), MaskedLayers);
        e = Assert.Throws<JobException>(() => DataLoader.Load(bad, "job"));
        Assert.Contains("lengths[69] = 8", e.Message);
    }

    [Fact]
    public void The_loss_is_the_mean_over_the_global_batch_unmasked_steps()
    {
        var job = Job(WriteData(), MaskedLayers);
        var data = DataLoader.Load(job, "job");
        var spec = job.ModelFor(Features);
        long kept = SequenceMask.KeptSteps(spec, data.X.Data, Rows, Timesteps);
        Assert.Equal(data.Lengths!.Sum(), kept);
        Assert.Equal(kept / (double)Timesteps, SequenceMask.LossRows(spec, kept, Rows, Timesteps));

        // The engine's own count agrees, and its loss is the reference's Keras mean.
        var model = Sequential.FromSpec(spec, new ManagedKernels(), 5);
        model.Compile("mse", new Sgd());
        var grads = model.ComputeGradients(data.X, data.Y);
        Assert.Equal(kept / (double)Timesteps, grads.LossRows, 12);
        double reference = ReferenceModel.Of(model).MeanLoss("mse", false, data.X.Doubles(), Rows, Timesteps, data.Y.Doubles());
        ModelTestData.AssertClose([reference], [grads.LossSum / grads.LossRows], 1e-5, 0.1, "mean loss");

        // Validation scoring on the coordinator: the padded targets (99) must not count.
        var prediction = model.Predict(data.X).Output;
        var keep = SequenceMask.OutputKeep(spec, data.X.Data, Rows, Timesteps);
        var scored = Evaluation.Compute(model.Loss!, prediction, data.Y, ["mae"], "", keep);
        ModelTestData.AssertClose([reference], [scored.Loss], 1e-5, 0.1, "evaluation loss");
        Assert.True(scored.Metrics[0].Value < 5, $"mae {scored.Metrics[0].Value} counts padded targets");
    }

    /// <summary>Same tolerance and rules as LocalModeTests: 1 worker bit for bit, 2 and 3 within float summation order.</summary>
    [Fact]
    public async Task Workers_1_2_and_3_train_a_masked_job_to_the_weights_of_Fit()
    {
        var job = Job(WriteData(), MaskedLayers);
        var data = DataLoader.Load(job, job.Name);
        DataLoader.CheckFits(data, job);
        var fit = LocalModeTests.TrainFit(job, data);
        var one = await LocalModeTests.TrainLocal(job, data, 1, "varlen-1");
        var two = await LocalModeTests.TrainLocal(job, data, 2, "varlen-2");
        var three = await LocalModeTests.TrainLocal(job, data, 3, "varlen-3");
        var threeAgain = await LocalModeTests.TrainLocal(job, data, 3, "varlen-3b");
        double d2 = MaxRelativeDifference(two, fit), d3 = MaxRelativeDifference(three, fit);
        output.WriteLine($"relative difference to Fit: 2 workers {d2:E2}, 3 workers {d3:E2}");
        Assert.True(d2 < 1e-5, $"2 workers differ from Fit by {d2:E2}");
        Assert.True(d3 < 1e-5, $"3 workers differ from Fit by {d3:E2}");
        LocalModeTests.AssertSameWeights(fit, one, "1 worker vs Fit");
        Assert.Equal(LocalModeTests.NpzBytes(three), LocalModeTests.NpzBytes(threeAgain));

        // Not vacuous: dividing by the rows instead of the unmasked steps trains other weights.
        var unmasked = Sequential.FromSpec(job.ModelFor(Features) with { Layers = MaskedLayers[1..] }, new MklKernels(), job.Seed);
        unmasked.Compile(job.CreateLoss(), job.Optimizer.Create());
        unmasked.Fit(data.X, data.Y, job.BatchSize, job.Epochs, job.Shuffle, job.ValidationSplit);
        Assert.True(MaxRelativeDifference([.. unmasked.GetWeights().Select((p, i) => new KeyValuePair<string, Tensor>(fit[i].Key, p.Value))], fit) > 1e-3);
    }
}

/// <summary>jobs/sunspots-varlen.json: variable-length histories of real data, masked, trained with Fit.</summary>
public sealed class SunspotsVarlenJobTests(ITestOutputHelper output)
{
    [Fact]
    public void Sunspots_varlen_loads_masks_its_padding_and_beats_persistence()
    {
        var path = Jobs.JobTestSupport.JobFile("sunspots-varlen.json");
        var job = JobSpec.Load(path);
        var data = DataLoader.Load(job, path);
        Assert.Equal([268, 40, 2], data.X.Shape);
        Assert.Equal(8, data.Lengths!.Min());
        Assert.Equal(40, data.Lengths!.Max());
        DataLoader.CheckFits(data, job);

        var model = Sequential.FromSpec(job.ModelFor(data.Features), new MklKernels(), job.Seed);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        var history = model.Fit(data.X, data.Y, job.BatchSize, job.Epochs, job.Shuffle, job.ValidationSplit);

        // Persistence (next year = the row's last year) on the validation rows.
        int val = (int)(data.Rows * job.ValidationSplit), start = data.Rows - val;
        double persistence = 0;
        for (int r = start; r < data.Rows; r++)
        {
            double last = data.X.Data[(r * 40 + data.Lengths![r] - 1) * 2], next = data.Y.Data[r];
            persistence += (next - last) * (next - last);
        }
        persistence /= val;
        output.WriteLine($"val_loss {string.Join(", ", history.ValidationLoss.Select(l => l.ToString("0.0000")))}; persistence {persistence:0.0000}");
        Assert.True(history.ValidationLoss[^1] < persistence, $"val_loss {history.ValidationLoss[^1]:0.0000} does not beat persistence {persistence:0.0000}");
    }
}
