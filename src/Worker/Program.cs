using Akka.Event;
using RnnCluster.Hosting;
using RnnCluster.Numerics;

namespace RnnCluster.Worker
{
    /// <summary><c>rnncluster-worker</c>: a worker node that joins the cluster through its seed nodes.</summary>
    public static class WorkerProgram
    {
        public const string Usage = $"""
            usage: rnncluster-worker --seed ADDRESS [options]

            Runs a worker node: joins the cluster through its seed nodes (the coordinator's address,
            e.g. akka.tcp://rnncluster@127.0.0.1:4053), registers with the coordinator and computes
            shards until Ctrl-C or SIGTERM, then leaves the cluster.

            node options:
            {NodeOptions.Help}
              --workers K          compute actors in this node, each on its own core (default: the
                                   number of cores); the node takes one block of K shards per step
                                   and sends one gradient sum
              --data-port P        TCP port of the node's data plane (tensors between nodes; env
                                   RNNCLUSTER_DATA_PORT; default 0 = any free port)
              --math mkl|managed   math backend (env RNNCLUSTER_MATH; default mkl; MKL threads:
                                   env RNNCLUSTER_MKL_THREADS, default 1)
              --log-level LEVEL    trace, debug, info (default), warning, error
              --help               this text

            exit codes: 0 stopped by a signal, 1 error or removed from the cluster (one line on stderr),
            2 usage error
            """;

        public static async Task<int> Main(string[] args)
        {
            if (args.Any(a => a is "--help" or "-h" or "help"))
            {
                Console.WriteLine(Usage);
                return 0;
            }
            try
            {
                var node = NodeOptions.Parse(args, defaultPort: 0, out var rest);
                string? math = null, level = null, workers = null, dataPort = null;
                for (int i = 0; i < rest.Count; i++)
                {
                    switch (rest[i])
                    {
                        case "--math" when i + 1 < rest.Count: math = rest[++i]; break;
                        case "--log-level" when i + 1 < rest.Count: level = rest[++i]; break;
                        case "--workers" when i + 1 < rest.Count: workers = rest[++i]; break;
                        case "--data-port" when i + 1 < rest.Count: dataPort = rest[++i]; break;
                        case var a when a.StartsWith("--math=", StringComparison.Ordinal): math = a["--math=".Length..]; break;
                        case var a when a.StartsWith("--log-level=", StringComparison.Ordinal): level = a["--log-level=".Length..]; break;
                        case "--math" or "--log-level" or "--workers" or "--data-port": throw new NodeOptionsException($"option {rest[i]} needs a value");
                        case var a when a.StartsWith("--", StringComparison.Ordinal): throw new NodeOptionsException($"unknown option {a}");
                        default: throw new NodeOptionsException($"unexpected argument '{rest[i]}'");
                    }
                }
                if (node.Seeds.Count == 0) throw new NodeOptionsException("give at least one seed node: --seed akka.tcp://rnncluster@HOST:PORT (or RNNCLUSTER_SEEDS)");
                var logLevel = NodeProgram.ParseLogLevel(level);
                int? workerCount = null;
                if (workers is not null)
                    workerCount = int.TryParse(workers, out int k) && k >= 1 ? k : throw new NodeOptionsException($"--workers must be a whole number of at least 1, got '{workers}'");
                var config = AkkaCluster.Node(node, AkkaCluster.WorkerRole, NodeLogging.AkkaLevel(logLevel));
                if (dataPort is not null)
                {
                    if (!int.TryParse(dataPort, out int port) || port is < 0 or > 65535)
                        throw new NodeOptionsException($"--data-port must be a port number (0-65535), got '{dataPort}'");
                    config = Akka.Configuration.ConfigurationFactory.ParseString($"rnncluster.data-plane.port = {port}").WithFallback(config);
                }
                node.CheckPortIsFree();
                var kernels = MathBackend.Start(MathOptions.FromEnvironment(math));

                using var logs = NodeLogging.CreateConsoleFactory(logLevel, toStandardError: false);
                var worker = WorkerNode.Start(config, kernels, logs, workerCount);
                worker.System.Log.Info("worker node at {0} with {1} worker(s), data plane on port {2}, joining through {3}; {4}", worker.Address,
                    workerCount ?? Environment.ProcessorCount, Transport.Transfer.For(worker.System).DataPort?.ToString() ?? "-", string.Join(", ", node.Seeds), MathBackend.Describe(kernels));
                return await NodeProgram.RunUntilStoppedAsync(worker.System);
            }
            catch (NodeOptionsException e)
            {
                Console.Error.WriteLine($"rnncluster-worker: {e.Message} (see rnncluster-worker --help)");
                return 2;
            }
            catch (Exception e)
            {
                // MKL missing, a port in use, a broken config file: one line, not a stack trace.
                Console.Error.WriteLine($"rnncluster-worker: error: {e.Message.Split('\n')[0]}");
                return 1;
            }
        }
    }
}
