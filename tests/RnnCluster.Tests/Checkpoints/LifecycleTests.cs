using RnnCluster.Coordinator;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// Ended jobs release what they held: the coordinator keeps a summary (status, metrics, final
/// weights) and drops the job's data and every worker's replica, so memory after 20 jobs in a row
/// stays where it was after one; the summary still answers status, weights and predictions.
/// </summary>
[Collection(Cluster.ClusterCollection.Name)] // Measures the process's heap: nothing else may run meanwhile.
public sealed class LifecycleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    /// <summary>~1.6 MB of data a job (8192 sequences of 32 steps with their LSTM(8) initial states), 8 steps.</summary>
    private static JobSpec Job(int seed) => DefaultJob.Spec with
    {
        Name = "lifecycle",
        Model = new JobModel { Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = 8 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }] },
        Data = DefaultJob.Spec.Data with { Rows = 8192, Timesteps = 32 },
        BatchSize = 1024,
        Epochs = 1,
        Seed = seed,
        MinWorkers = 2,
    };

    private static long Heap()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public async Task Memory_after_twenty_jobs_in_a_row_is_within_ten_percent_of_memory_after_one()
    {
        await using var local = LocalMode.Start(2, new ManagedKernels(), serializeMessages: false, name: "lifecycle");
        await local.WaitForWorkersAsync(Wait);
        long afterOne = 0;
        string lastId = "";
        for (int i = 1; i <= 20; i++)
        {
            var job = Job(i);
            using (var handle = await local.Client.StartWatchedJobAsync(job, DataLoader.Load(job, job.Name)))
            {
                using var cancel = new CancellationTokenSource(JobTimeout);
                await foreach (var e in handle.Events(cancel.Token))
                    if (e is JobFailed f) Assert.Fail($"job {i} failed: {f.Reason}");
                lastId = handle.JobId;
            }
            // The job actor stops once the coordinator has its summary.
            await Task.Delay(200);
            if (i == 1) afterOne = Heap();
        }
        long afterTwenty = Heap();
        output.WriteLine($"managed heap after 1 job: {afterOne / 1e6:0.0} MB, after 20: {afterTwenty / 1e6:0.0} MB ({100.0 * (afterTwenty - afterOne) / afterOne:+0.0;-0.0}%)");
        Assert.True(afterTwenty <= afterOne * 1.10, $"memory grew from {afterOne / 1e6:0.0} MB after one job to {afterTwenty / 1e6:0.0} MB after 20");

        // The ended job still answers from its summary: status, weights, and a prediction on a temporary replica.
        var status = await local.Client.GetStatusAsync(lastId);
        Assert.Equal(JobState.Finished, status.State);
        var weights = await local.Client.GetWeightsAsync(lastId);
        Assert.Equal(status.WeightsVersion, weights.Version);
        var data = DataLoader.Load(Job(20), "lifecycle");
        var x = Rows.Slice(data.X, 0, 5);
        var states = data.InitialStates.Select(s => Rows.Slice(s, 0, 5)).ToList();
        var remote = await local.Client.PredictAsync(lastId, x, states);
        var model = Sequential.FromSpec(Job(20).ModelFor(data.Features), new ManagedKernels());
        model.SetWeights(Pairs(weights.Weights));
        AssertTensor(model.Predict(x, states).Output, remote.Output, "prediction of an ended job");
        Assert.Contains(lastId, (await local.Client.GetClusterStatusAsync()).Jobs);
    }
}
