using System.CommandLine;
using Akka.Event;
using RnnCluster.CommandLine;
using RnnCluster.Hosting;
using RnnCluster.Numerics;

namespace RnnCluster.Worker
{
    /// <summary><c>rnncluster-worker</c>: a worker node that joins the cluster through its seed nodes.</summary>
    public static class WorkerProgram
    {
        public const string Description = """
            Runs a worker node: joins the cluster through its seed nodes (the coordinator's address,
            e.g. akka.tcp://rnncluster@127.0.0.1:4053), registers with the coordinator and computes
            shards until Ctrl-C or SIGTERM, then leaves the cluster.
            Exit codes: 0 stopped by a signal, 1 error or removed from the cluster (one line on stderr),
            2 usage error.
            """;

        public static Task<int> Main(string[] args) => CreateProgram().RunAsync(args);

        /// <summary>
        /// The program's command line. Every exception is an error of one line: MKL missing, a port in
        /// use, a broken config file.
        /// </summary>
        public static CliProgram CreateProgram() => new(CreateRoot(), _ => true);

        public static Command CreateRoot()
        {
            var node = new NodeCommandLine(defaultPort: 0);
            var math = CliOptions.Math();
            var workers = CliOptions.Int("--workers", "K",
                "compute actors in this node, each on its own core (default: the number of cores); the node takes one block of K shards per step and sends one gradient sum", min: 1);
            var dataPort = CliOptions.Int("--data-port", "P",
                $"TCP port of the node's data plane, which carries the tensors between nodes (env {Transport.TransferSettings.DataPortVariable}; default 0 = any free port)", min: 0);
            var root = CliProgram.CreateRoot("rnncluster-worker", Description);
            node.AddTo(root);
            root.Add(workers);
            root.Add(dataPort);
            root.Add(math);
            root.SetAction(async (result, _) =>
            {
                var options = node.Read(result);
                if (options.Seeds.Count == 0) throw new NodeOptionsException("give at least one seed node: --seed akka.tcp://rnncluster@HOST:PORT (or RNNCLUSTER_SEEDS)");
                var logLevel = node.ReadLogLevel(result);
                options.CheckPortIsFree();
                var kernels = MathBackend.Start(MathOptions.FromEnvironment(result.GetValue(math)));

                var config = AkkaCluster.Node(options, AkkaCluster.WorkerRole, NodeLogging.AkkaLevel(logLevel));
                if (result.GetValue(dataPort) is { } port)
                {
                    if (port > 65535) throw new NodeOptionsException($"--data-port must be a port number (0-65535), got {port}");
                    config = Akka.Configuration.ConfigurationFactory.ParseString($"rnncluster.data-plane.port = {port}").WithFallback(config);
                }
                int count = result.GetValue(workers) ?? Environment.ProcessorCount;

                using var logs = NodeLogging.CreateConsoleFactory(logLevel, toStandardError: false);
                var worker = WorkerNode.Start(config, kernels, logs, count);
                worker.System.Log.Info("worker node at {0} with {1} worker(s), data plane on port {2}, joining through {3}; {4}", worker.Address, count,
                    Transport.Transfer.For(worker.System).DataPort?.ToString() ?? "-", string.Join(", ", options.Seeds), MathBackend.Describe(kernels));
                return await NodeProgram.RunUntilStoppedAsync(worker.System);
            });
            return root;
        }
    }
}
