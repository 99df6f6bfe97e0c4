using RnnCluster.Model;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>A coordinator and two workers as OS processes, started once for the class.</summary>
public sealed class ProcessClusterFixture : IAsyncLifetime
{
    public ProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await ProcessCluster.StartAsync(workers: 2);

    public async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
    }
}

/// <summary>
/// End to end with real processes on 127.0.0.1: <c>rnncluster coordinator</c>, two
/// <c>rnncluster-worker</c>s and the <c>rnncluster submit</c> client train the default job to the
/// weights local mode gets with two workers and the same seed; a wrong contact fails fast.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MultiProcessTests(ProcessClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ProcessClusterFixture>
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Submit_trains_the_default_job_to_the_weights_of_local_mode_with_two_workers()
    {
        var root = Directory.CreateTempSubdirectory("rnncluster-mp-");
        try
        {
            var clusterOut = Path.Combine(root.FullName, "cluster");
            var localOut = Path.Combine(root.FullName, "local");

            var submit = await ProcessCluster.RunToEndAsync(JobTimeout, "rnncluster",
                "submit", "--contact", fixture.Cluster.Contact, "--epochs", "2", "--seed", "7", "--min-workers", "2", "--out", clusterOut);
            output.WriteLine($"submit ({submit.Elapsed.TotalSeconds:0.0} s):\n{submit.Output}{submit.Error}");
            Assert.True(submit.ExitCode == 0, $"submit exited with {submit.ExitCode}: {submit.Error}");
            // Progress, as train prints it when its output is not a terminal: one line per epoch.
            Assert.Contains("epoch 1/2  loss", submit.Output);
            Assert.Contains("epoch 2/2  loss", submit.Output);
            Assert.Contains("weights.npz", submit.Output);
            Assert.True(File.Exists(Path.Combine(clusterOut, "weights.npz")));

            var local = await ProcessCluster.RunToEndAsync(JobTimeout, "rnncluster",
                "train", "--workers", "2", "--epochs", "2", "--seed", "7", "--math", "managed", "--out", localOut);
            Assert.True(local.ExitCode == 0, $"train exited with {local.ExitCode}: {local.Error}");

            var expected = WeightsFile.Load(Path.Combine(localOut, "weights.npz"));
            var actual = WeightsFile.Load(Path.Combine(clusterOut, "weights.npz"));
            ClusterJobs.AssertClose(
                [.. expected.Select(kv => new RnnCluster.Protocol.NamedTensor(kv.Key, kv.Value))],
                [.. actual.Select(kv => new RnnCluster.Protocol.NamedTensor(kv.Key, kv.Value))],
                relative: 1e-5);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Status_reports_the_workers()
    {
        var status = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(30), "rnncluster", "status", "--contact", fixture.Cluster.Contact);

        Assert.Equal(0, status.ExitCode);
        Assert.Contains("workers 2\n", status.Output);
    }

    [Fact]
    public void Every_log_line_names_the_node_address_and_role()
    {
        var coordinator = fixture.Cluster.Processes[0].Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var worker = fixture.Cluster.Processes[1].Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains(coordinator, l => l.Contains($"{fixture.Cluster.Contact} [coordinator]", StringComparison.Ordinal) && l.Contains("registered", StringComparison.Ordinal));
        Assert.Contains(worker, l => l.Contains(" [worker] ", StringComparison.Ordinal) && l.Contains("akka.tcp://rnncluster@127.0.0.1:", StringComparison.Ordinal));
        // Only the very first lines, written before remoting knows its port, name the system instead.
        Assert.All(coordinator.Where(l => l.Contains(" INFO ", StringComparison.Ordinal) || l.Contains(" WARN ", StringComparison.Ordinal)).Skip(2),
            l => Assert.Contains("[coordinator]", l));
    }

    [Fact]
    public async Task A_wrong_contact_address_fails_with_one_line_within_the_timeout()
    {
        int nobody = ProcessCluster.FreePort();

        var submit = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(40), "rnncluster",
            "submit", "--contact", $"akka.tcp://rnncluster@127.0.0.1:{nobody}", "--timeout", "5", "--epochs", "1");

        output.WriteLine($"{submit.Elapsed.TotalSeconds:0.0} s: {submit.Error}");
        Assert.Equal(1, submit.ExitCode);
        var lines = submit.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Contains($"no coordinator answered at akka.tcp://rnncluster@127.0.0.1:{nobody} within 5 s", line);
        Assert.True(submit.Elapsed < TimeSpan.FromSeconds(20), $"took {submit.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_malformed_contact_address_is_a_usage_error()
    {
        var submit = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(30), "rnncluster", "submit", "--contact", "http://nowhere");

        Assert.Equal(2, submit.ExitCode);
        Assert.Contains("--contact", Assert.Single(submit.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
