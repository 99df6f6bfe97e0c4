using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.ClusterBench;

/// <summary>
/// <c>rnncluster-cluster-bench transfer [--rounds 5] [--sizes 4,50]</c>: one tensor of each size
/// (MB of float32, as a <see cref="ReplicaWeights"/>) from one node to another on loopback, over each
/// carrier (the data plane's socket, and chunks through Akka's connection), the carriers alternating
/// round by round in one run. Time: from the sender's Tell (serialization included) to the
/// receiving actor holding the deserialized message; MB/s = 1e6 bytes / s, median of the rounds.
/// </summary>
internal static class TransferBench
{
    public static async Task<int> Run(Dictionary<string, string> options)
    {
        int rounds = int.Parse(options.GetValueOrDefault("rounds", "5"));
        var sizes = options.GetValueOrDefault("sizes", "4,50").Split(',').Select(double.Parse).ToArray();
        string[] carriers = ["socket", "akka"];
        var systems = carriers.ToDictionary(c => c, c => (Start($"{c}-a", c), Start($"{c}-b", c)));
        try
        {
            var results = new Dictionary<(string, double), List<double>>();
            foreach (var c in carriers)
                foreach (var mb in sizes) results[(c, mb)] = [];
            for (int round = 0; round <= rounds; round++)
            {
                foreach (var carrier in round % 2 == 0 ? carriers : carriers.Reverse())
                {
                    var (a, b) = systems[carrier];
                    foreach (var mb in sizes)
                    {
                        double seconds = await Once(a, b, (int)(mb * 1e6 / 4), round);
                        // Round 0 warms both carriers up (connections, buffers) and is not counted.
                        if (round > 0) results[(carrier, mb)].Add(mb / seconds);
                    }
                }
            }
            Console.WriteLine($"transfer: one tensor per send, {rounds} rounds, carriers alternating; MB/s per link (1e6 bytes/s), median [min, max]");
            Console.WriteLine("carrier   size MB   MB/s median   min     max");
            foreach (var mb in sizes)
                foreach (var c in carriers)
                {
                    var r = results[(c, mb)].Order().ToList();
                    Console.WriteLine($"{c,-8} {mb,8:0} {r[r.Count / 2],12:0} {r[0],7:0} {r[^1],7:0}");
                }
            return 0;
        }
        finally
        {
            await Task.WhenAll(systems.Values.SelectMany(s => new[] { s.Item1.Terminate(), s.Item2.Terminate() }));
        }
    }

    private static ActorSystem Start(string name, string carrier)
    {
        var config = ConfigurationFactory.ParseString($"rnncluster.transfer.carrier = {carrier}")
            .WithFallback(AkkaCluster.Client(new NodeOptions { Host = "127.0.0.1", Port = 0 }, "ERROR"));
        var system = AkkaCluster.Create(name, config);
        Transfer.For(system);
        return system;
    }

    private static async Task<double> Once(ActorSystem a, ActorSystem b, int floats, int round)
    {
        var arrived = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = b.ActorOf(Props.Create(() => new Sink(arrived)));
        var address = ((ExtendedActorSystem)b).Provider.DefaultAddress;
        var remote = await a.ActorSelection(sink.Path.ToStringWithAddress(address)).ResolveOne(TimeSpan.FromSeconds(10));
        var tensor = new Tensor(new float[floats], floats);
        for (int i = 0; i < floats; i++) tensor.Data[i] = i * 1e-3f + round;
        var clock = Stopwatch.StartNew();
        Transfer.For(a).Tell(remote, new ReplicaWeights("bench", round, tensor), ActorRefs.NoSender);
        var done = await arrived.Task.WaitAsync(TimeSpan.FromMinutes(2));
        double seconds = clock.Elapsed.TotalSeconds;
        b.Stop(sink);
        return seconds;
    }

    private sealed class Sink : ReceiveActor
    {
        public Sink(TaskCompletionSource<DateTime> arrived) =>
            Receive<ReplicaWeights>(w =>
            {
                Transfer.For(Context.System).Recycle(w.Parameters);
                arrived.TrySetResult(DateTime.UtcNow);
            });
    }
}
