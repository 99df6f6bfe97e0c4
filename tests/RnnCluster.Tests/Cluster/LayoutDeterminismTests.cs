using Akka.Configuration;
using RnnCluster.Coordinator;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Tests.Actors;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// Same layout, same bits: three worker nodes of two workers each under fan-out 2 (a real tree:
/// the third node answers through the first), run twice, give bit-identical weights, and match
/// local mode's six workers (the same shards, summed in another order) within float rounding.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LayoutDeterminismTests(ITestOutputHelper output)
{
    private static async Task<IReadOnlyList<NamedTensor>> TrainInCluster()
    {
        var overrides = ConfigurationFactory.ParseString("rnncluster.tree.fan-out = 2");
        await using var cluster = await InProcessCluster.StartAsync(workers: 3, overrides, workersPerNode: 2);
        var job = ClusterJobs.Stateful(batch: 12, epochs: 2) with { MinWorkers = 6 };
        using var handle = await cluster.Client.StartWatchedJobAsync(job, ClusterJobs.Data(rows: 48));
        var events = await ClusterJobs.RunAsync(handle, TimeSpan.FromSeconds(90));
        Assert.All(events.OfType<StepCompleted>(), s => Assert.Equal(6, s.Workers));
        return Assert.IsType<JobFinished>(events[^1]).Weights;
    }

    [Fact]
    public async Task Two_runs_with_the_same_layout_give_the_same_bits_and_local_mode_within_rounding()
    {
        var first = await TrainInCluster();
        var second = await TrainInCluster();
        for (int k = 0; k < first.Count; k++)
            ActorTestSupport.AssertBitIdentical(first[k].Value.Data, second[k].Value.Data, $"{first[k].Name}, run 2 against run 1");

        await using var local = LocalMode.Start(6, new ManagedKernels(), name: "layout-local");
        await local.WaitForWorkersAsync(TimeSpan.FromSeconds(10));
        var job = ClusterJobs.Stateful(batch: 12, epochs: 2) with { MinWorkers = 6 };
        using var handle = await local.Client.StartWatchedJobAsync(job, ClusterJobs.Data(rows: 48));
        var events = await ClusterJobs.RunAsync(handle, TimeSpan.FromSeconds(60));
        var inLocal = Assert.IsType<JobFinished>(events[^1]).Weights;
        double worst = ActorTestSupport.MaxRelativeDifference(ActorTestSupport.Pairs(first), ActorTestSupport.Pairs(inLocal));
        output.WriteLine($"largest per-tensor relative difference, cluster tree against local mode: {worst:E2}");
        Assert.True(worst < 1e-5, $"the cluster differs from local mode by {worst:E2}");
    }
}
