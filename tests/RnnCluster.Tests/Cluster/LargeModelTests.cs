using System.Diagnostics;
using Akka.Configuration;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// A 12.5-million-parameter model (50 MB of float32 weights and as much gradient per worker and
/// step) trains with two workers on loopback with the default failure detector and the cluster's
/// modest frame size: no member is ever unreachable, and the weights come back whole.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LargeModelTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_fifty_megabyte_model_trains_with_two_workers_and_no_unreachable_member()
    {
        const int steps = 3;
        // The default failure detector: only the cluster's own settings, nothing made faster.
        var defaults = ConfigurationFactory.ParseString("akka.cluster.split-brain-resolver.stable-after = 20s");
        await using var cluster = await InProcessCluster.StartAsync(workers: 2, defaults);
        var unreachable = new List<string>();
        cluster.WatchUnreachable(unreachable);
        var transfers = new List<TransferEvent>();
        var recorder = TransferRecorder.Start(cluster.Coordinator.System, transfers);

        // Two rows per worker: the test is about moving the weights, not computing with them.
        var job = FiftyMegabyteJob.Spec(batchSize: 4, minWorkers: 2);
        var data = FiftyMegabyteJob.Data(rows: job.BatchSize * steps);
        var clock = Stopwatch.StartNew();
        using var handle = await cluster.Client.StartWatchedJobAsync(job, data);
        var events = await ClusterJobs.RunAsync(handle, TimeSpan.FromMinutes(4), e =>
        {
            if (e is StepCompleted s) output.WriteLine($"step {s.Step + 1}/{s.StepsPerEpoch}: loss {s.Loss:0.0000}, {s.Workers} workers, {clock.Elapsed.TotalSeconds:0.0} s");
            return Task.CompletedTask;
        });

        var finished = Assert.IsType<JobFinished>(events[^1]);
        Assert.Equal(FiftyMegabyteJob.Parameters, finished.Weights.Sum(w => (long)w.Value.Length));
        Assert.All(events.OfType<StepCompleted>(), s => Assert.Equal(2, s.Workers));
        Assert.Equal(steps, events.OfType<StepCompleted>().Count());
        lock (transfers)
        {
            foreach (var group in transfers.Where(t => t.Chunks > 0).GroupBy(t => (t.Outgoing, t.Manifest)))
                output.WriteLine($"{(group.Key.Outgoing ? "sent" : "received")} {group.Count()} x {group.Key.Manifest}: " +
                                 $"{group.Sum(t => t.Bytes) / 1e6 / group.Sum(t => t.Elapsed.TotalSeconds):0} MB/s");
        }
        lock (unreachable) Assert.Empty(unreachable);
    }
}
