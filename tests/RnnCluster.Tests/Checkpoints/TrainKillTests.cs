using RnnCluster.Checkpoints;
using RnnCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// <c>rnncluster train --checkpoint-dir</c> as real processes: killed with SIGKILL in the middle of
/// an epoch, then run again with the same command, it ends with a weights.npz byte-identical to an
/// uninterrupted run's, for a shuffled job and a stateful one; <c>--fresh</c> starts over.
/// </summary>
[Collection(ClusterCollection.Name)] // Runs alone: each train loads both cores.
public sealed class TrainKillTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rnncluster-kill-");

    public void Dispose() => _root.Delete(recursive: true);

    // Builtin data, so the job files need no data files. ~55-65 batches an epoch, a few seconds a run.
    private const string ShuffledJob = """
        { "name": "kill-shuffled", "model": { "layers": [ { "kind": "lstm", "units": 32 }, { "kind": "dense", "units": 1 } ] },
          "loss": "mse", "optimizer": { "kind": "adam", "learning_rate": 0.01 },
          "data": { "source": "builtin", "builtin": "phase_level", "rows": 4096, "timesteps": 30 },
          "batch_size": 64, "epochs": 3, "validation_split": 0.1, "states": { "policy": "from_data" }, "seed": 11 }
        """;

    private const string StatefulJob = """
        { "name": "kill-stateful", "model": { "layers": [ { "kind": "gru", "units": 32 }, { "kind": "dense", "units": 1 } ] },
          "loss": "mse", "optimizer": { "kind": "rmsprop", "learning_rate": 0.005, "momentum": 0.5 },
          "data": { "source": "builtin", "builtin": "phase_level", "rows": 1024, "timesteps": 30 },
          "batch_size": 16, "epochs": 3, "shuffle": false, "states": { "policy": "stateful", "reset": "each_epoch" }, "seed": 5 }
        """;

    [Theory]
    [InlineData("shuffled")]
    [InlineData("stateful")]
    public async Task Train_killed_mid_epoch_and_run_again_writes_the_uninterrupted_runs_weights(string which)
    {
        var jobFile = Path.Combine(_root.FullName, $"{which}.json");
        File.WriteAllText(jobFile, which == "shuffled" ? ShuffledJob : StatefulJob);
        var checkpoints = Path.Combine(_root.FullName, "checkpoints");
        string[] Args(string outDir, params string[] extra) =>
            ["train", jobFile, "--workers", "2", "--math", "managed", "--out", outDir, .. extra];

        var reference = await ProcessCluster.RunToEndAsync(RunTimeout, "rnncluster", Args(Path.Combine(_root.FullName, "reference")));
        Assert.True(reference.ExitCode == 0, reference.Error);
        var expected = File.ReadAllBytes(Path.Combine(_root.FullName, "reference", "weights.npz"));

        // Killed once a checkpoint in the middle of the second epoch (or later) is on disk.
        var crashedOut = Path.Combine(_root.FullName, "crashed");
        var command = Args(crashedOut, "--checkpoint-dir", checkpoints, "--checkpoint-every", "5");
        using (var victim = RunningProcess.Start(ProcessCluster.Dll("rnncluster"), command))
        {
            var deadline = DateTime.UtcNow + RunTimeout;
            while (MidEpochCheckpoint(checkpoints) is null)
            {
                if (victim.Process.HasExited) Assert.Fail($"train ended ({victim.Process.ExitCode}) before it could be killed:\n{victim.Output}\n{victim.Error}");
                if (DateTime.UtcNow > deadline) Assert.Fail($"no mid-epoch checkpoint within {RunTimeout.TotalSeconds} s:\n{victim.Output}");
                await Task.Delay(10);
            }
            victim.Kill(); // SIGKILL
            output.WriteLine($"killed after {MidEpochCheckpoint(checkpoints)}; its output:\n{victim.Output}");
            Assert.False(File.Exists(Path.Combine(crashedOut, "weights.npz")), "the run finished before the kill");
        }

        var rerun = await ProcessCluster.RunToEndAsync(RunTimeout, "rnncluster", command);
        output.WriteLine($"rerun ({rerun.Elapsed.TotalSeconds:0.0} s):\n{rerun.Output}{rerun.Error}");
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Contains("resuming at epoch", rerun.Output);
        Assert.Contains("epoch 1/3  loss", rerun.Output); // the epochs before the crash, replayed from the checkpoint
        Assert.True(expected.SequenceEqual(File.ReadAllBytes(Path.Combine(crashedOut, "weights.npz"))),
            $"{which}: weights.npz after the kill and rerun differs from the uninterrupted run's");
        Assert.Equal(4, File.ReadAllLines(Path.Combine(crashedOut, "metrics.csv")).Length); // header + 3 epochs

        // --fresh: from the start (no resume), the same weights again.
        var freshOut = Path.Combine(_root.FullName, "fresh");
        var fresh = await ProcessCluster.RunToEndAsync(RunTimeout, "rnncluster", Args(freshOut, "--checkpoint-dir", checkpoints, "--fresh"));
        Assert.True(fresh.ExitCode == 0, fresh.Error);
        Assert.DoesNotContain("resuming", fresh.Output);
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(freshOut, "weights.npz")));
    }

    /// <summary>The name of a checkpoint taken inside epoch 2 or later (batch above 0), or null.</summary>
    private static string? MidEpochCheckpoint(string root)
    {
        if (!Directory.Exists(root)) return null;
        foreach (var job in Directory.GetDirectories(root))
            foreach (var name in CheckpointStore.Checkpoints(job).Select(Path.GetFileName))
                if (name is not null && !name.StartsWith("epoch-00000-", StringComparison.Ordinal) && !name.EndsWith("-batch-0000000", StringComparison.Ordinal))
                    return name;
        return null;
    }
}
