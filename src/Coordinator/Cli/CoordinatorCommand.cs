using System.CommandLine;
using Akka.Event;
using RnnCluster.Coordinator.Cluster;
using RnnCluster.Hosting;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster coordinator [--host H] [--port P] [--public-hostname N] [--seed ADDRESS]...</c>:
/// runs a coordinator node (the coordinator singleton, its proxy, the clients' receptionist) until
/// Ctrl-C or SIGTERM. Without seeds it starts a new cluster by joining itself. With
/// <c>--checkpoint-dir DIR</c> jobs checkpoint there, and the coordinator resumes every unfinished
/// job it finds in DIR when it starts.
/// </summary>
public static class CoordinatorCommand
{
    public const string Description = """
        run a coordinator node until Ctrl-C or SIGTERM: workers register with it and clients
        submit jobs to it ('rnncluster submit JOB --contact akka.tcp://rnncluster@HOST:PORT').
        Without --seed it starts a new cluster; with the other coordinator nodes' addresses it joins theirs
        """;

    public static Command Create()
    {
        var node = new NodeCommandLine(AkkaCluster.DefaultCoordinatorPort);
        var checkpoints = new CheckpointArguments(fresh: false);
        var command = new Command("coordinator", Description);
        node.AddTo(command);
        checkpoints.AddTo(command);
        var httpPort = Http.HttpCommandLine.PortOption();
        command.Add(httpPort);
        command.SetAction((result, _) => RunAsync(node.Read(result), node.ReadLogLevel(result), checkpoints.Read(result, resumeAllOnStart: true),
            result.GetValue(httpPort)));
        return command;
    }

    private static async Task<int> RunAsync(NodeOptions node, Microsoft.Extensions.Logging.LogLevel level, Actors.CoordinatorCheckpoints? checkpoints,
        int? httpPort)
    {
        node.CheckPortIsFree();
        using var logs = NodeLogging.CreateConsoleFactory(level, toStandardError: false);
        CoordinatorNode coordinator;
        try
        {
            coordinator = CoordinatorNode.Start(AkkaCluster.Node(node, AkkaCluster.CoordinatorRole, NodeLogging.AkkaLevel(level)), logs, checkpoints);
        }
        catch (Exception e) when (e is not NodeOptionsException)
        {
            throw new Client.RnnClusterException($"cannot start the coordinator node: {e.Message.Split('\n')[0]}");
        }
        coordinator.System.Log.Info("coordinator node at {0} ({1}); workers: rnncluster-worker --seed {0}; clients: rnncluster submit JOB --contact {0}",
            coordinator.Address, node.Seeds.Count == 0 ? "new cluster" : "seeds " + string.Join(", ", node.Seeds));
        await using var http = await Http.HttpCommandLine.StartIfAskedAsync(httpPort, new Client.RnnClusterClient(coordinator.System, coordinator.Relay), Http.HttpApi.ClusterNodes(coordinator.System), m => coordinator.System.Log.Info(m));
        return await NodeProgram.RunUntilStoppedAsync(coordinator.System);
    }
}
