using System.Diagnostics;
using System.Text.RegularExpressions;
using RnnCluster.CommandLine;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Hosting;
using RnnCluster.Numerics;
using RnnCluster.Worker;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// What can be checked of deploy/ without a container engine: every environment variable and
/// every option the compose file, the Kubernetes manifests, the Dockerfile and local-cluster.sh
/// give the programs is one the programs read; and local-cluster.sh brings a cluster up and takes
/// every process down again.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class DeployTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    private static readonly string[] DeployFiles =
        ["deploy/Dockerfile", "deploy/docker-compose.yml", "deploy/k8s/rnncluster.yaml", "deploy/local-cluster.sh"];

    /// <summary>The variables the programs read, from the programs' own constants.</summary>
    private static readonly HashSet<string> ReadByPrograms =
        [.. NodeOptions.EnvironmentVariables, Transport.TransferSettings.DataPortVariable, MathOptions.KindVariable, MathOptions.ThreadsVariable, MathOptions.CpuDispatchVariable, ClusterContact.ContactVariable];

    [GeneratedRegex(@"\bRNNCLUSTER_[A-Z0-9_]+")]
    private static partial Regex VariableName();

    [GeneratedRegex(@"(?<![\w-])--([a-z][a-z-]*)")]
    private static partial Regex OptionName();

    [Fact]
    public void Every_variable_the_deploy_files_set_is_read_by_the_programs()
    {
        var seen = new List<string>();
        foreach (var file in DeployFiles)
        {
            foreach (Match m in VariableName().Matches(File.ReadAllText(Path.Combine(Root, file))))
            {
                seen.Add(m.Value);
                Assert.True(ReadByPrograms.Contains(m.Value), $"{file} uses {m.Value}, which no program reads (they read {string.Join(", ", ReadByPrograms.Order())})");
            }
        }
        output.WriteLine(string.Join(", ", seen.Distinct().Order()));
        // The manifests do set the cluster's addresses through the environment.
        Assert.Contains(NodeOptions.SeedsVariable, seen);
        Assert.Contains(NodeOptions.PublicHostnameVariable, seen);
        Assert.Contains(NodeOptions.HostVariable, seen);
    }

    [Fact]
    public void Every_variable_the_programs_list_is_really_read_in_the_source()
    {
        var source = string.Join("\n", Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")).Select(File.ReadAllText));
        foreach (var name in ReadByPrograms) Assert.Contains($"\"{name}\"", source);
    }

    [Fact]
    public void Every_option_the_deploy_files_pass_is_one_the_programs_take()
    {
        var options = new[] { Coordinator.Program.CreateRoot(), WorkerProgram.CreateRoot() }
            .SelectMany(root => CliProgram.Commands(root)).SelectMany(c => c.Command.Options).Select(o => o.Name).ToHashSet();
        foreach (var file in DeployFiles)
        {
            foreach (var line in File.ReadAllLines(Path.Combine(Root, file)))
            {
                // Lines that run one of the programs (not docker's or dotnet's own options).
                bool runsProgram = line.Contains("rnncluster.dll", StringComparison.Ordinal) || line.Contains("rnncluster-worker.dll", StringComparison.Ordinal)
                                   || line.Contains("./rnncluster ", StringComparison.Ordinal);
                if (!runsProgram || line.Contains("dotnet build", StringComparison.Ordinal) || line.Contains("dotnet publish", StringComparison.Ordinal)) continue;
                foreach (Match m in OptionName().Matches(line))
                    Assert.True(options.Contains("--" + m.Groups[1].Value), $"{file}: option --{m.Groups[1].Value} is not one any program takes: {line.Trim()}");
            }
        }
    }

    [Fact]
    public async Task Local_cluster_script_brings_the_cluster_up_and_stops_every_process()
    {
        int port = ProcessCluster.FreePort();
        var logs = Directory.CreateTempSubdirectory("rnncluster-local-test-");
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(Root, "deploy", "local-cluster.sh"), "2", "--", "dotnet", ProcessCluster.Dll("rnncluster"), "status" })
            info.ArgumentList.Add(a);
        info.Environment["LOCAL_CLUSTER_PORT"] = port.ToString();
        info.Environment["LOCAL_CLUSTER_BIN"] = AppContext.BaseDirectory;
        info.Environment["LOCAL_CLUSTER_LOGS"] = logs.FullName;
        info.Environment["RNNCLUSTER_MATH"] = "managed";
        using var script = Process.Start(info)!;
        try
        {
            var stdout = script.StandardOutput.ReadToEndAsync();
            var stderr = script.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await script.WaitForExitAsync(cancel.Token);
            output.WriteLine(await stdout + await stderr);
            Assert.Equal(0, script.ExitCode);
            Assert.Contains("workers 2\n", await stdout);
            Assert.Contains("stopping 3 process(es)", await stderr);
        }
        finally
        {
            if (!script.HasExited) script.Kill(entireProcessTree: true);
        }
        // Nothing the script started is left: no process names its coordinator.
        var seed = $"127.0.0.1:{port}";
        var left = Directory.EnumerateDirectories("/proc").Select(d => Path.Combine(d, "cmdline")).Where(File.Exists)
            .Select(f => { try { return File.ReadAllText(f).Replace('\0', ' '); } catch (IOException) { return ""; } })
            .Where(c => c.Contains(seed, StringComparison.Ordinal) && c.Contains("rnncluster", StringComparison.Ordinal)).ToList();
        Assert.Empty(left);
        logs.Delete(recursive: true);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RnnCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("RnnCluster.sln not found above " + AppContext.BaseDirectory);
    }
}
