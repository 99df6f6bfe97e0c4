using RnnCluster.Checkpoints;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Checkpoints;

/// <summary><see cref="Sequential.Fit"/> with a checkpoint folder: resumed from any of its checkpoints, the same weights bit for bit.</summary>
public sealed class FitCheckpointTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rnncluster-fitckpt-");

    public void Dispose() => _root.Delete(recursive: true);

    private static Sequential Model(bool stateful)
    {
        var model = stateful
            ? new Sequential(new ManagedKernels(), new Lstm(6, stateful: true), new Dense(1))
            : new Sequential(new ManagedKernels(), new Gru(6), new Dense(1));
        model.Build(1, seed: 9);
        model.Compile("mse", new Adam(0.01f));
        return model;
    }

    private static (Dataset Data, int Batch) Data(bool stateful)
    {
        var data = BuiltinData.Generate(stateful ? 60 : 100, 8, stateful ? [6, 6] : [6], seed: 4);
        return (data, stateful ? 10 : 16);
    }

    private static History Fit(Sequential model, Dataset data, int batch, bool stateful, FitCheckpoint? checkpoint) =>
        model.Fit(data.X, data.Y, batch, epochs: 3, validationSplit: stateful ? 0 : 0.2, resetStatesEachEpoch: stateful,
            initialStates: stateful ? null : data.InitialStates, checkpoint: checkpoint);

    private static float[] Flat(Sequential model) => [.. model.GetWeights().SelectMany(w => w.Value.Data)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fit_resumed_from_each_of_its_checkpoints_ends_with_the_uninterrupted_weights(bool stateful)
    {
        var (data, batch) = Data(stateful);
        var plain = Model(stateful);
        var expectedHistory = Fit(plain, data, batch, stateful, null);
        var expected = Flat(plain);

        var all = Path.Combine(_root.FullName, "all");
        var checkpointed = Model(stateful);
        var history = Fit(checkpointed, data, batch, stateful, new FitCheckpoint(all, new CheckpointPolicy(EverySteps: 2), Keep: 1000));
        Assert.Equal(expected, Flat(checkpointed));
        Assert.Equal(expectedHistory.Loss, history.Loss);

        var jobDir = Assert.Single(Directory.GetDirectories(all));
        var names = CheckpointStore.Checkpoints(jobDir).Select(Path.GetFileName).OfType<string>().ToList();
        Assert.Contains(names, n => n.StartsWith("epoch-00001-", StringComparison.Ordinal) && !n.EndsWith("-batch-0000000", StringComparison.Ordinal));
        Assert.Equal("epoch-00003-batch-0000000", names[^1]);
        foreach (var name in names)
        {
            // A folder holding only this checkpoint, as a crash right after writing it leaves one.
            var dir = Path.Combine(_root.FullName, $"from-{name}");
            var target = Path.Combine(dir, Path.GetFileName(jobDir), name);
            Directory.CreateDirectory(target);
            foreach (var f in Directory.GetFiles(Path.Combine(jobDir, name))) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));

            var resumed = Model(stateful);
            var resumedHistory = Fit(resumed, data, batch, stateful, new FitCheckpoint(dir));
            Assert.True(expected.SequenceEqual(Flat(resumed)), $"resumed from {name}: the weights differ from the uninterrupted Fit's");
            Assert.Equal(expectedHistory.Loss, resumedHistory.Loss);
            Assert.Equal(expectedHistory.ValidationLoss, resumedHistory.ValidationLoss);
        }

        // Fresh: the checkpoints are discarded and Fit runs from the start (the model's own initial weights).
        var fresh = Model(stateful);
        Fit(fresh, data, batch, stateful, new FitCheckpoint(all, Fresh: true));
        Assert.Equal(expected, Flat(fresh));
    }
}
