using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// A worker process killed with SIGKILL mid-job: no leave, no stopped actors, the node just goes
/// silent. The coordinator must take it out of the job when the failure detector marks the node
/// unreachable (a few seconds), not only when the split-brain resolver removes it (stable-after,
/// 20 s, plus the removal), so the step in flight is recomputed on the other worker quickly.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WorkerCrashTests(ITestOutputHelper output)
{
    /// <summary>Failure detection takes about 4-8 s with the programs' settings; removal would take 25 s or more.</summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_killed_worker_stops_holding_the_job_once_its_node_is_unreachable()
    {
        await using var cluster = await ProcessCluster.StartAsync(workers: 2);
        // Many short epochs: submit prints a line per epoch, which shows when steps complete.
        using var submit = cluster.Start("rnncluster",
            "submit", "--contact", cluster.Contact, "--epochs", "100000", "--seed", "7", "--min-workers", "2");
        await WaitForEpochsAsync(submit, 3, TimeSpan.FromSeconds(60));

        var victim = cluster.Processes.First(p => p.Process.StartInfo.ArgumentList[0].EndsWith("rnncluster-worker.dll", StringComparison.Ordinal));
        int epochsBefore = Epochs(submit);
        var clock = Stopwatch.StartNew();
        victim.Process.Kill(); // SIGKILL
        await WaitForEpochsAsync(submit, epochsBefore + 2, TimeSpan.FromSeconds(90));
        var recovered = clock.Elapsed;
        output.WriteLine($"two more epochs {recovered.TotalSeconds:0.0} s after the kill");

        Assert.True(recovered < Recovery,
            $"the job took {recovered.TotalSeconds:0.0} s to go on without the killed worker (limit {Recovery.TotalSeconds} s):\n{submit.Output}");
        var status = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(30), "rnncluster", "status", "--contact", cluster.Contact, "--timeout", "5");
        Assert.Contains("workers 1\n", status.Output);
    }

    private static int Epochs(RunningProcess submit) => Regex.Matches(submit.Output, @"^epoch \d+/", RegexOptions.Multiline).Count;

    private static async Task WaitForEpochsAsync(RunningProcess submit, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Epochs(submit) < count)
        {
            if (submit.Process.HasExited) Assert.Fail($"submit exited with {submit.Process.ExitCode}:\n{submit.Output}\n{submit.Error}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"fewer than {count} epochs within {timeout.TotalSeconds} s:\n{submit.Output}\n{submit.Error}");
            await Task.Delay(50);
        }
    }
}
