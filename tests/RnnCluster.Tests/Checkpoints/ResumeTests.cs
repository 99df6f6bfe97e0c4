using RnnCluster.Checkpoints;
using RnnCluster.Coordinator;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// Local mode resumed from checkpoints in this process: a job continued from one of its own
/// checkpoints (mid-epoch, or an epoch's end) ends with the bytes of the uninterrupted run, for a
/// shuffled job with per-row initial states and for a stateful one; a finished job's checkpoint
/// gives its weights at once.
/// </summary>
public sealed class ResumeTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);
    private static readonly IMathKernels Kernels = new ManagedKernels();
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rnncluster-resume-");

    public void Dispose() => _root.Delete(recursive: true);

    /// <summary>Shuffled, from_data states, validation: 461 training rows in 8 batches of 64 (the last of 13), 3 epochs.</summary>
    internal static JobSpec Shuffled => DefaultJob.Spec with { Data = DefaultJob.Spec.Data with { Rows = 512 }, Epochs = 3, MinWorkers = 2 };

    /// <summary>Stateful LSTM(8): 80 rows in 8 batches of 10, states carried within an epoch and reset after it, 3 epochs.</summary>
    internal static JobSpec Stateful => new()
    {
        Name = "stateful-resume",
        Model = new JobModel { Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = 8 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }] },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
        Data = new DataSpec { Source = DataSpec.BuiltinSource, Builtin = BuiltinData.PhaseLevel, Rows = 80, Timesteps = 10 },
        BatchSize = 10,
        Epochs = 3,
        Shuffle = false,
        States = new StatePolicy { Policy = StatePolicyKind.Stateful, Reset = StateReset.EachEpoch },
        Seed = 3,
        MinWorkers = 2,
    };

    private async Task<(byte[] Weights, List<IJobEvent> Events)> Train(JobSpec job, Dataset data, CoordinatorCheckpoints? checkpoints, string name)
    {
        await using var local = LocalMode.Start(2, Kernels, serializeMessages: true, name: name, checkpoints: checkpoints);
        await local.WaitForWorkersAsync(Wait);
        using var handle = await local.Client.StartWatchedJobAsync(job, data);
        using var cancel = new CancellationTokenSource(JobTimeout);
        var events = new List<IJobEvent>();
        await foreach (var e in handle.Events(cancel.Token))
        {
            events.Add(e);
            if (e is JobFailed f) Assert.Fail($"{name}: job failed: {f.Reason}");
            if (e is JobFinished done)
            {
                var path = Path.Combine(_root.FullName, $"{name}.npz");
                WeightsFile.Save(path, Pairs(done.Weights));
                return (File.ReadAllBytes(path), events);
            }
        }
        throw new InvalidOperationException($"{name}: the events ended without a result");
    }

    [Fact]
    public async Task A_coordinator_started_on_a_checkpoint_folder_resumes_the_unfinished_job_by_itself()
    {
        var job = Shuffled;
        var data = DataLoader.Load(job, job.Name);
        var all = Path.Combine(_root.FullName, "all");
        var (expected, _) = await Train(job, data, new CoordinatorCheckpoints(all, new CheckpointPolicy(EverySteps: 4), Keep: 1000), "restart-reference");
        var key = Path.GetFileName(Assert.Single(Directory.GetDirectories(all)));
        var mid = CheckpointStore.Checkpoints(Path.Combine(all, key)).Select(Path.GetFileName).OfType<string>()
            .First(n => n.StartsWith("epoch-00001-", StringComparison.Ordinal) && !n.EndsWith("batch-0000000", StringComparison.Ordinal));
        var folder = CrashedAt(all, key, mid, "restart");
        // A second job that was stopped: marked ended, so it is not resumed.
        var stopped = new CheckpointStore(folder.Directory);
        var other = CheckpointStore.Read(Path.Combine(all, key, mid)) with { JobKey = "stopped-0000000000000000", JobId = "stopped-1" };
        stopped.Write(other);
        stopped.WriteDataOnce(other.JobKey, data, JobKey.DataHash(data));
        stopped.MarkEnded(other.JobKey, JobState.Stopped, "stopped on request");

        var checkpoints = folder with { ResumeAllOnStart = true };
        await using var local = LocalMode.Start(2, Kernels, serializeMessages: true, name: "restart", checkpoints: checkpoints);
        await local.WaitForWorkersAsync(Wait);
        var jobId = CheckpointStore.Read(Path.Combine(all, key, mid)).JobId;
        Assert.Equal([jobId], (await local.Client.GetClusterStatusAsync()).Jobs);

        // A client that follows the job by its id (as after a coordinator restart): the epochs so far, then the uninterrupted run's weights.
        using var cancel = new CancellationTokenSource(JobTimeout);
        var events = new List<IJobEvent>();
        await foreach (var e in local.Client.WatchAsync(jobId, cancel.Token)) events.Add(e);
        var done = Assert.IsType<JobFinished>(events[^1]);
        var path = Path.Combine(_root.FullName, "restart.npz");
        WeightsFile.Save(path, Pairs(done.Weights));
        Assert.True(expected.SequenceEqual(File.ReadAllBytes(path)), "the job resumed by the restarted coordinator ends with other weights");
        Assert.Equal(Enumerable.Range(0, job.Epochs), events.OfType<EpochCompleted>().Select(e => e.Epoch).Distinct());
    }

    /// <summary>A checkpoint folder holding only the job's data and one of its checkpoints, as a crash right after it leaves one.</summary>
    private CoordinatorCheckpoints CrashedAt(string from, string key, string checkpoint, string name)
    {
        var dir = Path.Combine(_root.FullName, name);
        Copy(Path.Combine(from, key, "data"), Path.Combine(dir, key, "data"));
        Copy(Path.Combine(from, key, checkpoint), Path.Combine(dir, key, checkpoint));
        return new CoordinatorCheckpoints(dir, new CheckpointPolicy(EverySteps: 3));
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    [Theory]
    [InlineData("shuffled")]
    [InlineData("stateful")]
    public async Task A_job_resumed_from_a_mid_epoch_or_an_epoch_end_checkpoint_ends_with_the_same_bytes(string which)
    {
        var job = which == "shuffled" ? Shuffled : Stateful;
        var data = DataLoader.Load(job, job.Name);
        DataLoader.CheckFits(data, job);
        var (plain, _) = await Train(job, data, null, $"{which}-plain");

        // Every step and each epoch, all kept: the uninterrupted run with checkpoints, and the checkpoints to resume from.
        var all = Path.Combine(_root.FullName, "all");
        var (checkpointed, _) = await Train(job, data, new CoordinatorCheckpoints(all, new CheckpointPolicy(EverySteps: 1), Keep: 1000), $"{which}-checkpointed");
        Assert.Equal(plain, checkpointed);

        var key = Assert.Single(Directory.GetDirectories(all)).Split(Path.DirectorySeparatorChar)[^1];
        var names = CheckpointStore.Checkpoints(Path.Combine(all, key)).Select(Path.GetFileName).OfType<string>().ToList();
        output.WriteLine($"{names.Count} checkpoints: {string.Join(", ", names)}");
        var mid = names.First(n => n.StartsWith("epoch-00001-", StringComparison.Ordinal) && !n.EndsWith("batch-0000000", StringComparison.Ordinal));
        var epochEnd = names.First(n => n == "epoch-00002-batch-0000000");
        var done = names[^1];
        Assert.Equal("epoch-00003-batch-0000000", done);

        foreach (var checkpoint in new[] { mid, epochEnd })
        {
            var resumed = CheckpointStore.Read(Path.Combine(all, key, checkpoint));
            var (bytes, events) = await Train(job, data, CrashedAt(all, key, checkpoint, $"{which}-{checkpoint}"), $"{which}-from-{checkpoint}");
            Assert.True(plain.SequenceEqual(bytes), $"{which}: resumed from {checkpoint}, the final weights.npz differs from the uninterrupted run's");
            // It continued where the checkpoint was, after replaying the epochs done before it.
            var steps = events.OfType<StepCompleted>().ToList();
            Assert.Equal((resumed.Cursor.Epoch, resumed.Cursor.Batch), (steps[0].Epoch, steps[0].Step));
            Assert.Equal(Enumerable.Range(0, job.Epochs), events.OfType<EpochCompleted>().Select(e => e.Epoch));
        }

        // From the finished job's checkpoint: its weights at once, no step.
        var (final, finalEvents) = await Train(job, data, CrashedAt(all, key, done, $"{which}-done"), $"{which}-from-done");
        Assert.Equal(plain, final);
        Assert.Empty(finalEvents.OfType<StepCompleted>());
    }
}
