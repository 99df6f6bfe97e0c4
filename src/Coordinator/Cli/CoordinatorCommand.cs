using Akka.Event;
using RnnCluster.Coordinator.Cluster;
using RnnCluster.Hosting;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster coordinator [--host H] [--port P] [--public-hostname N] [--seed ADDRESS]...</c>:
/// runs a coordinator node (the coordinator singleton, its proxy, the clients' receptionist) until
/// Ctrl-C or SIGTERM. Without seeds it starts a new cluster by joining itself.
/// </summary>
public static class CoordinatorCommand
{
    public static readonly string Usage = $"""
        usage: rnncluster coordinator [options]

        Runs a coordinator node: the coordinator (a cluster singleton on the nodes with role
        coordinator) that workers register with and clients submit jobs to, through the
        ClusterClientReceptionist. Without --seed it starts a new cluster (seeds itself); give the
        other coordinator nodes' addresses to join an existing one. Runs until Ctrl-C or SIGTERM.

        node options (default port {AkkaCluster.DefaultCoordinatorPort}):
        {NodeOptions.Help}
          --log-level LEVEL    trace, debug, info (default), warning, error
          --help               this text

        clients: rnncluster submit JOB --contact akka.tcp://rnncluster@HOST:PORT
        """;

    private static readonly HashSet<string> ValueOptions = ["log-level"];
    private static readonly HashSet<string> Flags = ["help"];

    public static async Task<int> RunAsync(IEnumerable<string> args, TextWriter output)
    {
        var list = args.ToList();
        if (list.Any(a => a is "--help" or "-h"))
        {
            output.WriteLine(Usage);
            return 0;
        }
        var node = NodeOptions.Parse(list, AkkaCluster.DefaultCoordinatorPort, out var rest);
        var a = new CliArguments(rest, ValueOptions, Flags);
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        var level = NodeProgram.ParseLogLevel(a.Value("log-level"));
        node.CheckPortIsFree();

        using var logs = NodeLogging.CreateConsoleFactory(level, toStandardError: false);
        CoordinatorNode coordinator;
        try
        {
            coordinator = CoordinatorNode.Start(AkkaCluster.Node(node, AkkaCluster.CoordinatorRole, NodeLogging.AkkaLevel(level)), logs);
        }
        catch (Exception e) when (e is not NodeOptionsException)
        {
            throw new Client.RnnClusterException($"cannot start the coordinator node: {e.Message.Split('\n')[0]}");
        }
        coordinator.System.Log.Info("coordinator node at {0} ({1}); workers: rnncluster-worker --seed {0}; clients: rnncluster submit JOB --contact {0}",
            coordinator.Address, node.Seeds.Count == 0 ? "new cluster" : "seeds " + string.Join(", ", node.Seeds));
        return await NodeProgram.RunUntilStoppedAsync(coordinator.System);
    }
}
