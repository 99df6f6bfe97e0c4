using Akka.Actor;
using RnnCluster.Client;
using RnnCluster.Coordinator;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Actors;

/// <summary>
/// Local mode with real workers (MKL, serialize-messages on unless a test says otherwise):
/// distributed training against the in-process <see cref="Sequential.Fit"/>, a worker's
/// exception, and the client facade.
/// </summary>
public sealed class LocalModeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    private static readonly IMathKernels Kernels = new MklKernels();

    /// <summary>The default job made smaller: 512 rows (461 train in 8 batches of 64, the last of 13; 51 validation), 2 epochs.</summary>
    private static JobSpec SmallDefault => DefaultJob.Spec with
    {
        Data = DefaultJob.Spec.Data with { Rows = 512 },
        Epochs = 2,
    };

    /// <summary>
    /// Stateful LSTM(8) -> Dense(1) on builtin data: 60 rows in 6 batches of 10 (10 rows do not split
    /// evenly over 3 workers: 4 + 3 + 3), row order kept, states reset at each epoch's end.
    /// </summary>
    private static JobSpec StatefulBuiltin => new()
    {
        Name = "stateful-builtin",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.Lstm, Units = 8 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
        Data = new DataSpec { Source = DataSpec.BuiltinSource, Builtin = BuiltinData.PhaseLevel, Rows = 60, Timesteps = 10 },
        BatchSize = 10,
        Epochs = 3,
        Shuffle = false,
        States = new StatePolicy { Policy = StatePolicyKind.Stateful, Reset = StateReset.EachEpoch },
        Seed = 3,
    };

    private static async Task<LocalMode> StartLocal(int workers, string name, bool serializeMessages = true)
    {
        var local = LocalMode.Start(workers, Kernels, serializeMessages, name: name);
        await local.WaitForWorkersAsync(Wait);
        return local;
    }

    /// <summary>Trains a job in a fresh local mode with <paramref name="workers"/> workers; returns the final weights.</summary>
    internal static async Task<IReadOnlyList<KeyValuePair<string, Tensor>>> TrainLocal(JobSpec job, Dataset data, int workers, string name, bool serializeMessages = true)
    {
        await using var local = await StartLocal(workers, name, serializeMessages);
        using var handle = await local.Client.StartWatchedJobAsync(job with { MinWorkers = workers }, data);
        using var cancel = new CancellationTokenSource(JobTimeout);
        await foreach (var e in handle.Events(cancel.Token))
        {
            if (e is StepCompleted s) Assert.Equal(Math.Min(workers, s.Rows), s.Workers);
            if (e is JobFailed f) Assert.Fail($"{name}: job failed: {f.Reason}");
            if (e is JobFinished done) return Pairs(done.Weights);
        }
        throw new InvalidOperationException($"{name}: the events ended without a result");
    }

    /// <summary>The same job with <see cref="Sequential.Fit"/> in this process.</summary>
    internal static IReadOnlyList<KeyValuePair<string, Tensor>> TrainFit(JobSpec job, Dataset data)
    {
        var model = Sequential.FromSpec(job.ModelFor(data.Features), Kernels, job.Seed);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        model.Fit(data.X, data.Y, job.BatchSize, job.Epochs, job.Shuffle, job.ValidationSplit,
            resetStatesEachEpoch: job.IsStateful && job.States.Reset == StateReset.EachEpoch,
            initialStates: job.States.Policy == StatePolicyKind.FromData ? data.InitialStates : null);
        return model.GetWeights();
    }

    internal static byte[] NpzBytes(IReadOnlyList<KeyValuePair<string, Tensor>> weights)
    {
        var path = Path.Combine(Path.GetTempPath(), $"rnncluster-test-{Guid.NewGuid():N}.npz");
        try
        {
            WeightsFile.Save(path, weights);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    internal static void AssertSameWeights(IReadOnlyList<KeyValuePair<string, Tensor>> expected, IReadOnlyList<KeyValuePair<string, Tensor>> actual, string what)
    {
        Assert.Equal(expected.Select(p => p.Key), actual.Select(p => p.Key));
        for (int i = 0; i < expected.Count; i++) AssertTensor(expected[i].Value, actual[i].Value, $"{what}: {expected[i].Key}");
    }

    // ---------------------------------------------------------------------------------------
    // (a) equivalence
    // ---------------------------------------------------------------------------------------

    public static TheoryData<string> EquivalenceJobs => ["default (from_data, shuffled, validation)", "stateful (batch 10, reset each epoch)"];

    /// <summary>
    /// 1, 2 and 3 workers against <see cref="Sequential.Fit"/> with the same seed. Tolerance: for each
    /// weight tensor, max |a - b| / max(max |b|, 1e-3) must stay below 1e-5 (N workers add the
    /// shards' gradient sums, which changes only the float summation order). One worker computes
    /// the whole batch exactly as Fit does, so it must match bit for bit; two runs with the same
    /// seed and workers must write byte-identical weights.npz.
    /// </summary>
    [Theory]
    [MemberData(nameof(EquivalenceJobs))]
    public async Task Workers_1_2_and_3_train_the_same_weights_as_Fit(string which)
    {
        var job = which.StartsWith("default") ? SmallDefault : StatefulBuiltin;
        var data = DataLoader.Load(job, job.Name);
        DataLoader.CheckFits(data, job);

        var fit = TrainFit(job, data);
        var tag = which.StartsWith("default") ? "eq-default" : "eq-stateful";
        var one = await TrainLocal(job, data, 1, $"{tag}-1");
        var two = await TrainLocal(job, data, 2, $"{tag}-2");
        var three = await TrainLocal(job, data, 3, $"{tag}-3");
        var threeAgain = await TrainLocal(job, data, 3, $"{tag}-3b");

        double d1 = MaxRelativeDifference(one, fit), d2 = MaxRelativeDifference(two, fit), d3 = MaxRelativeDifference(three, fit);
        output.WriteLine($"{which}: relative difference to Fit: 1 worker {d1:E2}, 2 workers {d2:E2}, 3 workers {d3:E2}");
        Assert.True(d2 < 1e-5, $"2 workers differ from Fit by {d2:E2}");
        Assert.True(d3 < 1e-5, $"3 workers differ from Fit by {d3:E2}");
        AssertSameWeights(fit, one, "1 worker vs Fit");

        Assert.Equal(NpzBytes(three), NpzBytes(threeAgain));
        Assert.Equal(NpzBytes(fit), NpzBytes(one));
    }

    /// <summary>
    /// Local mode as the command line runs it, serialize-messages off: the job and its workers
    /// hand each other their reused buffers (shard inputs, weights, gradients, final states)
    /// without a copy, and training must still match <see cref="Sequential.Fit"/> as above.
    /// The default job has 498 rows here: 449 train in batches of 64, the last of 1 row, so with
    /// 3 workers 2 get no shard at the end of each epoch and the weights after it go in a new
    /// buffer (see <see cref="WeightsOutbox"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(EquivalenceJobs))]
    public async Task Without_serialization_workers_share_buffers_and_train_the_same_weights_as_Fit(string which)
    {
        var job = which.StartsWith("default") ? SmallDefault with { Data = SmallDefault.Data with { Rows = 498 } } : StatefulBuiltin;
        var data = DataLoader.Load(job, job.Name);
        DataLoader.CheckFits(data, job);

        var fit = TrainFit(job, data);
        var tag = which.StartsWith("default") ? "shared-default" : "shared-stateful";
        var one = await TrainLocal(job, data, 1, $"{tag}-1", serializeMessages: false);
        var two = await TrainLocal(job, data, 2, $"{tag}-2", serializeMessages: false);
        var three = await TrainLocal(job, data, 3, $"{tag}-3", serializeMessages: false);

        double d2 = MaxRelativeDifference(two, fit), d3 = MaxRelativeDifference(three, fit);
        output.WriteLine($"{which}, no serialization: relative difference to Fit: 2 workers {d2:E2}, 3 workers {d3:E2}");
        Assert.True(d2 < 1e-5, $"2 workers differ from Fit by {d2:E2}");
        Assert.True(d3 < 1e-5, $"3 workers differ from Fit by {d3:E2}");
        AssertSameWeights(fit, one, "1 worker vs Fit");
    }

    // ---------------------------------------------------------------------------------------
    // (b) a worker's exception
    // ---------------------------------------------------------------------------------------

    /// <summary>GRU(4) -> Dense(3, softmax), sparse crossentropy, 8 rows in one batch; row 6 labelled 7 (of 3 classes) when <paramref name="bad"/>.</summary>
    private static (JobSpec Job, Dataset Data) Classifier(bool bad)
    {
        var job = SmallJob("classifier") with
        {
            Model = new JobModel
            {
                Layers =
                [
                    new LayerSpec { Kind = LayerKinds.Gru, Units = 4 },
                    new LayerSpec { Kind = LayerKinds.Dense, Units = 3, Activation = "softmax" },
                ],
            },
            Loss = "sparse_categorical_crossentropy",
            Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
            Epochs = 2,
        };
        var data = IndexedData(8, 3, 2, 1, []);
        for (int i = 0; i < 8; i++) data.Y.Data[i] = i % 3;
        if (bad) data.Y.Data[6] = 7;
        return (job, data);
    }

    [Fact]
    public async Task A_worker_exception_on_one_shard_fails_the_job_with_its_message_and_the_next_job_runs()
    {
        await using var local = await StartLocal(2, "worker-exception");
        var (job, bad) = Classifier(bad: true);

        // The coordinator checks class indices before a job starts, so the client cannot send this data.
        var rejected = await Assert.ThrowsAsync<RnnClusterException>(() => local.Client.StartJobAsync(job, bad));
        Assert.Contains("label 7 is not a class index in [0, 3)", rejected.Message);

        // A job actor given the data directly, on the local mode's real node: shard 1 (rows 4..7)
        // holds the bad label, so its second compute actor throws in ShardMath and the job fails with its message.
        var node = await local.System.ActorSelection("/user/node").ResolveOne(Wait);
        var (sink, events) = EventSinks.Start(local.System);
        var actor = local.System.ActorOf(JobActor.Props("direct", job, bad, [new WorkerNodeRef(node, 2)], sink), "job-direct");
        var log = await EventSinks.UntilEnd(events, JobTimeout);
        var failed = Assert.IsType<JobFailed>(log[^1]);
        output.WriteLine(failed.Reason);
        Assert.Contains("node/compute-2", failed.Reason);
        Assert.Contains("sparse target 7 at vector 2 is not a class index in [0, 3)", failed.Reason);
        Assert.DoesNotContain(log, e => e is StepCompleted);
        var status = await actor.Ask<JobStatus>(new GetJobStatus("direct"), Wait);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("sparse target 7", status.Error);

        // The same local mode (same workers) runs the next job through the client.
        var (_, good) = Classifier(bad: false);
        using var handle = await local.Client.StartWatchedJobAsync(job with { MinWorkers = 2 }, good);
        using var cancel = new CancellationTokenSource(JobTimeout);
        var all = new List<IJobEvent>();
        await foreach (var e in handle.Events(cancel.Token)) all.Add(e);
        Assert.IsType<JobFinished>(all[^1]);
        Assert.Equal(2, all.OfType<StepCompleted>().Count());
    }

    // ---------------------------------------------------------------------------------------
    // (c) the client facade
    // ---------------------------------------------------------------------------------------

    [Fact]
    public async Task The_client_facade_watches_reads_writes_predicts_and_names_unknown_jobs()
    {
        await using var local = await StartLocal(2, "facade");
        var client = local.Client;
        var job = SmallDefault with { Data = SmallDefault.Data with { Rows = 256 }, Metrics = ["mae"], MinWorkers = 2 };
        var data = DataLoader.Load(job, job.Name);
        int trainRows = ValidationSplit.Of(256, job.ValidationSplit).TrainRows, steps = (trainRows + 63) / 64;

        using var handle = await client.StartWatchedJobAsync(job, data);
        var events = new List<IJobEvent>();
        using (var cancel = new CancellationTokenSource(JobTimeout))
            await foreach (var e in handle.Events(cancel.Token)) events.Add(e);
        Assert.All(events, e => Assert.Equal(handle.JobId, e.JobId));
        var stepEvents = events.OfType<StepCompleted>().ToList();
        Assert.Equal(job.Epochs * steps, stepEvents.Count);
        Assert.All(stepEvents, s => Assert.Equal(steps, s.StepsPerEpoch));
        Assert.Equal(trainRows, stepEvents.Where(s => s.Epoch == 0).Sum(s => s.Rows));
        var epochs = events.OfType<EpochCompleted>().ToList();
        Assert.Equal(new[] { 0, 1 }, epochs.Select(e => e.Epoch));
        Assert.All(epochs, e =>
        {
            Assert.NotNull(e.ValidationLoss);
            Assert.Equal("val_mae", Assert.Single(e.Metrics).Name);
        });
        var finished = Assert.IsType<JobFinished>(events[^1]);
        Assert.Equal(job.Epochs * steps, finished.WeightsVersion);

        var status = await client.GetStatusAsync(handle.JobId);
        Assert.Equal(JobState.Finished, status.State);
        Assert.Equal(job.Epochs, status.Epoch);
        Assert.Equal(finished.WeightsVersion, status.WeightsVersion);
        Assert.Equal(2, status.Workers);

        // Weights: read, write (halved), read back.
        var read = await client.GetWeightsAsync(handle.JobId);
        Assert.Equal(finished.WeightsVersion, read.Version);
        AssertSameWeights(Pairs(finished.Weights), Pairs(read.Weights), "GetWeights after the job");
        var halved = read.Weights.Select(w => new NamedTensor(w.Name, new Tensor([.. w.Value.Data.Select(v => v / 2)], w.Value.Shape))).ToList();
        var written = await client.SetWeightsAsync(handle.JobId, halved);
        Assert.Equal(read.Version + 1, written.Version);
        AssertSameWeights(Pairs(halved), Pairs(written.Weights), "SetWeights reply");
        var reread = await client.GetWeightsAsync(handle.JobId);
        Assert.Equal(written.Version, reread.Version);
        AssertSameWeights(Pairs(halved), Pairs(reread.Weights), "GetWeights after SetWeights");
        var wrong = halved.Select((w, i) => i == 0 ? new NamedTensor(w.Name, Tensor.Zeros(1, 1)) : w).ToList();
        var refused = await Assert.ThrowsAsync<RnnClusterException>(() => client.SetWeightsAsync(handle.JobId, wrong));
        Assert.Contains(halved[0].Name, refused.Message);

        // Predict on the workers against Sequential.Predict with the same (halved) weights.
        var model = Sequential.FromSpec(job.ModelFor(data.Features), Kernels, job.Seed);
        model.SetWeights(Pairs(halved));
        var x = Rows.Slice(data.X, 0, 20);
        var states = data.InitialStates.Select(s => Rows.Slice(s, 0, 20)).ToList();
        foreach (var withStates in new[] { false, true })
        {
            var remote = await client.PredictAsync(handle.JobId, x, withStates ? states : null);
            var here = model.Predict(x, withStates ? states : null);
            string what = withStates ? "predict from given states" : "predict from zeros";
            AssertTensor(here.Output, remote.Output, $"{what}: output");
            Assert.Equal(here.FinalStates.Count, remote.FinalStates.Count);
            for (int k = 0; k < here.FinalStates.Count; k++) AssertTensor(here.FinalStates[k], remote.FinalStates[k], $"{what}: final state {k}");
        }
        var zerosOut = (await client.PredictAsync(handle.JobId, x)).Output;
        var statesOut = (await client.PredictAsync(handle.JobId, x, states)).Output;
        Assert.NotEqual(zerosOut.Data, statesOut.Data); // the initial states reach the model
        var badX = await Assert.ThrowsAsync<RnnClusterException>(() => client.PredictAsync(handle.JobId, Tensor.Zeros(2, 3, 5)));
        Assert.Contains("expected (batch, timesteps, 1)", badX.Message);

        // Not stateful: nothing to reset.
        var notStateful = await Assert.ThrowsAsync<RnnClusterException>(() => client.ResetStatesAsync(handle.JobId));
        Assert.Contains("not stateful", notStateful.Message);

        // Unknown job ids.
        foreach (var call in new Func<Task>[]
                 {
                     () => client.GetStatusAsync("no-such-job"),
                     () => client.GetWeightsAsync("no-such-job"),
                     () => client.SetWeightsAsync("no-such-job", halved),
                     () => client.PredictAsync("no-such-job", x),
                     () => client.ResetStatesAsync("no-such-job"),
                     () => client.StopJobAsync("no-such-job"),
                 })
        {
            var unknown = await Assert.ThrowsAsync<RnnClusterException>(call);
            Assert.Equal("unknown job 'no-such-job'", unknown.Message);
        }
    }

    [Fact]
    public async Task ResetStates_through_the_client_on_a_running_stateful_job()
    {
        await using var local = await StartLocal(2, "facade-stateful");
        var client = local.Client;
        var job = StatefulBuiltin with { Epochs = 10_000, MinWorkers = 2 };
        var data = DataLoader.Load(job, job.Name);
        using var handle = await client.StartWatchedJobAsync(job, data);
        using var cancel = new CancellationTokenSource(JobTimeout);
        var events = handle.Events(cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.IsType<StepCompleted>(events.Current);

        await client.ResetStatesAsync(handle.JobId);
        await client.ResetStatesAsync(handle.JobId, layer: 0, rows: [1, 9], values: [Tensor.Zeros(2, 8), new Tensor([.. Enumerable.Repeat(0.5f, 16)], 2, 8)]);
        var wrongShape = await Assert.ThrowsAsync<RnnClusterException>(() =>
            client.ResetStatesAsync(handle.JobId, layer: 0, rows: [1, 9], values: [Tensor.Zeros(2, 7), Tensor.Zeros(2, 8)]));
        Assert.Contains("(2, 8)", wrongShape.Message);
        var wrongLayer = await Assert.ThrowsAsync<RnnClusterException>(() => client.ResetStatesAsync(handle.JobId, layer: 1));
        Assert.Contains("layer 1", wrongLayer.Message);
        Assert.Equal(JobState.Running, (await client.GetStatusAsync(handle.JobId)).State);

        await client.StopJobAsync(handle.JobId);
        IJobEvent last = events.Current;
        while (await events.MoveNextAsync()) last = events.Current;
        await events.DisposeAsync();
        var stopped = Assert.IsType<JobFailed>(last);
        Assert.Contains("stopped", stopped.Reason);
        Assert.Equal(JobState.Stopped, (await client.GetStatusAsync(handle.JobId)).State);
    }
}
