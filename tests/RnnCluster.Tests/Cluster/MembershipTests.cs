using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}

/// <summary>In-process clusters: registration through the singleton proxy, workers joining mid-job.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MembershipTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Workers_register_with_the_coordinator_singleton()
    {
        await using var cluster = await InProcessCluster.StartAsync(workers: 2);

        var status = await cluster.StatusAsync();
        Assert.Equal(2, status.Workers);
        // The coordinator is the singleton under its manager on the coordinator node.
        var members = Akka.Cluster.Cluster.Get(cluster.Coordinator.System).State.Members;
        Assert.Equal(3, members.Count);
        Assert.Single(members, m => m.HasRole("coordinator"));
        Assert.Equal(2, members.Count(m => m.HasRole("worker")));
        output.WriteLine($"coordinator at {cluster.Coordinator.Address}, workers at {string.Join(", ", cluster.Workers.Select(w => w.Address))}");
    }

    [Fact]
    public async Task A_worker_that_joins_mid_job_is_used_from_the_next_step()
    {
        await using var cluster = await InProcessCluster.StartAsync(workers: 1);
        // Long enough never to finish here: the test stops it once the new worker has taken shards.
        var job = ClusterJobs.Small(batch: 8, epochs: 10_000);
        var data = ClusterJobs.Data(rows: 64);
        using var handle = await cluster.Client.StartWatchedJobAsync(job, data);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var steps = new List<StepCompleted>();
        bool added = false, stopped = false;
        IJobEvent? last = null;
        await foreach (var e in handle.Events(cancel.Token))
        {
            last = e;
            if (e is not StepCompleted s) continue;
            steps.Add(s);
            if (!added)
            {
                added = true;
                cluster.AddWorker();
            }
            if (!stopped && steps.Count(x => x.Workers == 2) >= 5)
            {
                stopped = true;
                await cluster.Client.StopJobAsync(handle.JobId);
            }
        }

        Assert.Equal(1, steps[0].Workers);
        int firstWithTwo = steps.FindIndex(s => s.Workers == 2);
        Assert.True(firstWithTwo > 0, "the second worker never took a shard");
        // Once it is in, every later step uses it.
        Assert.All(steps.Skip(firstWithTwo), s => Assert.Equal(2, s.Workers));
        var end = Assert.IsType<JobFailed>(last);
        Assert.Contains("stopped", end.Reason);
        output.WriteLine($"second worker used from step {firstWithTwo} on; {steps.Count} steps in all");
    }
}
