using Akka.Actor;
using RnnCluster.Coordinator;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// Stateful training (row i of each batch continues row i of the previous batch) while the
/// cluster's membership changes: a worker joins mid-job, then the first worker leaves. The carried
/// states live in the coordinator's state table and every shard gets its rows' states, so the job
/// ends where local mode ends, up to the float summation order of the shards' gradient sums.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StatefulMembershipTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_stateful_job_keeps_every_rows_state_across_membership_changes()
    {
        // Steps of some tens of milliseconds and enough of them (64) that a graceful leave, which takes
        // the cluster a second or two, lands mid-job even on a fast, idle machine.
        // Plain SGD: the shard cut changes with the membership, so gradients differ from local mode
        // in the last bits (summation order); Adam would magnify that over 64 steps, SGD does not.
        var job = ClusterJobs.Stateful(batch: 16, epochs: 16, units: 64) with { Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 0.1f } };
        var data = ClusterJobs.Data(rows: 64, timesteps: 150, features: 2);

        // Local mode, one worker: the reference.
        List<IJobEvent> expected;
        await using (var local = LocalMode.Start(1, new ManagedKernels(), name: "stateful-reference"))
        {
            await local.WaitForWorkersAsync(InProcessCluster.Wait);
            using var reference = await local.Client.StartWatchedJobAsync(job, data);
            expected = await ClusterJobs.RunAsync(reference, TimeSpan.FromMinutes(2));
        }

        await using var cluster = await InProcessCluster.StartAsync(workers: 1);
        using var handle = await cluster.Client.StartWatchedJobAsync(job, data);
        var first = cluster.Workers[0];
        bool added = false, removed = false;
        var events = await ClusterJobs.RunAsync(handle, TimeSpan.FromMinutes(2), async e =>
        {
            if (e is not StepCompleted s) return;
            if (!added)
            {
                added = true;
                cluster.AddWorker();
            }
            else if (!removed && s.Workers == 2)
            {
                removed = true;
                // A graceful leave: the coordinator sees the worker terminate and goes on with the other.
                await CoordinatedShutdown.Get(first.System).Run(CoordinatedShutdown.ClrExitReason.Instance);
            }
        });

        var steps = events.OfType<StepCompleted>().ToList();
        var counts = string.Join(" ", steps.Select(s => s.Workers));
        output.WriteLine($"workers per step: {counts}");
        Assert.Contains(steps, s => s.Workers == 2);
        int lastTwo = steps.FindLastIndex(s => s.Workers == 2);
        Assert.True(lastTwo < steps.Count - 1 && steps[^1].Workers == 1, "the job ended before the first worker left");

        var expectedEpochs = expected.OfType<EpochCompleted>().Select(e => e.Loss).ToList();
        var actualEpochs = events.OfType<EpochCompleted>().Select(e => e.Loss).ToList();
        Assert.Equal(expectedEpochs.Count, actualEpochs.Count);
        for (int i = 0; i < expectedEpochs.Count; i++)
            Assert.True(Math.Abs(expectedEpochs[i] - actualEpochs[i]) <= 1e-4 * Math.Abs(expectedEpochs[i]) + 1e-7,
                $"epoch {i + 1}: local loss {expectedEpochs[i]}, cluster loss {actualEpochs[i]}");
        // Adam rescales each gradient, so a weight whose gradient is near zero moves by float noise:
        // compare each weight to its tensor's largest magnitude.
        ClusterJobs.AssertClose(((JobFinished)expected[^1]).Weights, Assert.IsType<JobFinished>(events[^1]).Weights, relative: 1e-4, ofTensorMax: true);
    }
}
