using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using RnnCluster.Client;
using RnnCluster.Coordinator.Cluster;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using RnnCluster.Worker;

namespace RnnCluster.ClusterBench;

/// <summary>
/// <c>rnncluster-cluster-bench comm [--nodes 1,2,4,8] [--sleep-ms 50] [--steps 12] [--fan-out 2]</c>:
/// a COMMUNICATION benchmark. A coordinator and N worker nodes (separate actor systems in this
/// process, talking over loopback TCP like separate machines would) train a 1.07-million-parameter
/// model (4.3 MB of float32) with every shard's math replaced by a fixed sleep
/// (<c>rnncluster.bench.fixed-compute</c>), so a step's time above the sleep is communication and
/// aggregation. Counts the bytes through the coordinator per step (every message it sends or gets
/// on the data plane) and prints, per N, the mean step time after the first two steps. On one
/// 2-core machine the total work still grows with N (N nodes share two cores): these times are an
/// upper bound for N real machines.
/// </summary>
internal static class CommBench
{
    public static JobSpec Spec(int batch, int minWorkers) => new()
    {
        Name = "four-megabytes",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 64 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1000, Activation = "tanh" },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1000, Activation = "tanh" },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 1e-3f },
        Data = new DataSpec(),
        BatchSize = batch,
        Epochs = 1,
        Shuffle = false,
        Seed = 1,
        MinWorkers = minWorkers,
    };

    public static async Task<int> Run(Dictionary<string, string> options)
    {
        var counts = options.GetValueOrDefault("nodes", "1,2,4,8").Split(',').Select(int.Parse).ToArray();
        int sleepMs = int.Parse(options.GetValueOrDefault("sleep-ms", "50"));
        int steps = int.Parse(options.GetValueOrDefault("steps", "12"));
        int fanOut = int.Parse(options.GetValueOrDefault("fan-out", JobActorFanOut().ToString()));
        var rows = new List<string>();
        int unreachable = 0;
        long parameters = 0;
        foreach (int n in counts)
        {
            var (stepSeconds, bytesPerStep, p, lost) = await Once(n, sleepMs, steps, fanOut);
            parameters = p;
            unreachable += lost;
            rows.Add($"{n,5} {stepSeconds * 1000,12:0.0} {(stepSeconds * 1000 - sleepMs),14:0.0} {bytesPerStep / 1e6,16:0.00} {bytesPerStep / (p * 4.0),14:0.00}");
        }
        Console.WriteLine($"communication benchmark: {parameters:N0} parameters ({parameters * 4 / 1e6:0.00} MB), compute = {sleepMs} ms sleep per shard, fan-out {fanOut}, {steps} steps (mean after the first 2)");
        Console.WriteLine("nodes  step ms       above sleep ms  MB via coord/step  x parameter bytes");
        foreach (var r in rows) Console.WriteLine(r);
        Console.WriteLine($"UnreachableMember events: {unreachable}");
        return unreachable == 0 ? 0 : 1;
    }

    private static int JobActorFanOut() => Coordinator.Actors.JobActor.DefaultFanOut;

    private static async Task<(double StepSeconds, double BytesPerStep, long Parameters, int Unreachable)> Once(int nodes, int sleepMs, int steps, int fanOut)
    {
        var overrides = ConfigurationFactory.ParseString($"""
            rnncluster.bench.fixed-compute = {sleepMs}ms
            rnncluster.tree.fan-out = {fanOut}
            """);
        Config NodeConfig(string role, IReadOnlyList<Address> seeds) =>
            overrides.WithFallback(AkkaCluster.Node(new NodeOptions { Host = "127.0.0.1", Port = 0, Seeds = seeds }, role, "ERROR"));
        var coordinator = CoordinatorNode.Start(NodeConfig(AkkaCluster.CoordinatorRole, []));
        var workers = new List<WorkerNode>();
        var events = new List<TransferEvent>();
        var lost = new List<string>();
        try
        {
            Observe(coordinator.System, events, lost);
            for (int i = 0; i < nodes; i++)
            {
                var w = WorkerNode.Start(NodeConfig(AkkaCluster.WorkerRole, [coordinator.Address]), new ManagedKernels(), workers: 1);
                workers.Add(w);
                Observe(w.System, null, lost);
            }
            var client = new RnnClusterClient(coordinator.System, coordinator.Relay, TimeSpan.FromMinutes(2));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((await client.GetClusterStatusAsync()).Workers < nodes)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{nodes} nodes did not register within 60 s");
                await Task.Delay(100);
            }
            var job = Spec(batch: nodes, minWorkers: nodes);
            var data = FiftyMegabyteJob.Data(nodes * steps);
            long p = new Network(job.ModelFor(data.X.Shape[2]), new ManagedKernels()).ParameterCount;
            var ends = new List<(DateTime At, long Bytes)>();
            using (var handle = await client.StartWatchedJobAsync(job, data))
            {
                await foreach (var e in handle.Events(new CancellationTokenSource(TimeSpan.FromMinutes(10)).Token))
                {
                    if (e is StepCompleted)
                        lock (events) ends.Add((DateTime.UtcNow, events.Sum(x => x.Bytes)));
                    if (e is JobFailed f) throw new InvalidOperationException($"job failed: {f.Reason}");
                }
            }
            // Steps 3..: the first two carry the replica, the data and warm-up.
            var measured = ends.Skip(1).ToList();
            double seconds = (measured[^1].At - measured[0].At).TotalSeconds / (measured.Count - 1);
            double bytes = (double)(measured[^1].Bytes - measured[0].Bytes) / (measured.Count - 1);
            lock (lost) return (seconds, bytes, p, lost.Count);
        }
        finally
        {
            await Task.WhenAll(workers.Select(w => w.DisposeAsync().AsTask()));
            await coordinator.DisposeAsync();
        }
    }

    private static void Observe(ActorSystem system, List<TransferEvent>? events, List<string> unreachable)
    {
        var recorder = system.ActorOf(Props.Create(() => new Recorder(events, unreachable)));
        if (events is not null) system.EventStream.Subscribe(recorder, typeof(TransferEvent));
        Akka.Cluster.Cluster.Get(system).Subscribe(recorder, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember));
    }

    private sealed class Recorder : ReceiveActor
    {
        public Recorder(List<TransferEvent>? events, List<string> unreachable)
        {
            Receive<TransferEvent>(e =>
            {
                lock (events!) events.Add(e);
            });
            Receive<ClusterEvent.UnreachableMember>(u =>
            {
                lock (unreachable) unreachable.Add(u.Member.Address.ToString());
            });
            ReceiveAny(_ => { });
        }
    }
}
