using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using RnnCluster.Client;
using RnnCluster.Coordinator.Cluster;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using RnnCluster.Worker;

// rnncluster-cluster-bench [train] [--steps 5] [--workers 2] [--workers-per-node 1] [--carrier socket|akka] [--math mkl|managed]
//                         [--chunk-size 65536] [--window 16] [--socket-buffer BYTES] [--json]
// rnncluster-cluster-bench transfer [--rounds 5] [--sizes 4,50]         (see TransferBench)
// rnncluster-cluster-bench comm [--nodes 1,2,4,8] [--sleep-ms 50] ...   (see CommBench)
//
// A 12.5-million-parameter model (50 MB of float32) trains for a few steps on an in-process cluster
// of separate ActorSystems on loopback (one coordinator node, N worker nodes, the default failure
// detector and the cluster's 256000-byte frame size). Prints each step's time split into weights
// out, compute, gradients back and aggregation, the transfer rates, and fails (exit 1) if any node
// saw an UnreachableMember event.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = ParseOptions(args);
if (args.Length > 0 && args[0] == "transfer") return await RnnCluster.ClusterBench.TransferBench.Run(options);
if (args.Length > 0 && args[0] == "comm") return await RnnCluster.ClusterBench.CommBench.Run(options);
string Opt(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;
int steps = int.Parse(Opt("steps", "5"));
int workerCount = int.Parse(Opt("workers", "2"));
var kernels = MathBackend.Start(MathOptions.FromEnvironment(Opt("math", "mkl")));
int perNode = int.Parse(Opt("workers-per-node", "1"));
var overrides = ConfigurationFactory.ParseString($"""
    rnncluster.transfer.carrier = {Opt("carrier", "socket")}
    rnncluster.transfer.chunk-size = {int.Parse(Opt("chunk-size", TransferSettings.DefaultChunkSize.ToString()))}b
    rnncluster.transfer.window = {int.Parse(Opt("window", TransferSettings.DefaultWindow.ToString()))}
    {(options.TryGetValue("socket-buffer", out var buffer) ? $"akka.remote.dot-netty.tcp {{ send-buffer-size = {buffer}b, receive-buffer-size = {buffer}b }}" : "")}
    """);
Config NodeConfig(string role, IReadOnlyList<Address> seeds) =>
    overrides.WithFallback(AkkaCluster.Node(new NodeOptions { Host = "127.0.0.1", Port = 0, Seeds = seeds }, role, "WARNING"));

var events = new List<(string Node, TransferEvent Event)>();
var unreachable = new List<string>();
// Node logs (warnings and errors) on stderr; stdout is the report.
using var logs = NodeLogging.CreateConsoleFactory(Microsoft.Extensions.Logging.LogLevel.Warning, toStandardError: true);
var coordinator = CoordinatorNode.Start(NodeConfig(AkkaCluster.CoordinatorRole, []), logs);
var workers = new List<WorkerNode>();
int exitCode = 0;
try
{
    Observe(coordinator.System, "coordinator");
    for (int i = 0; i < workerCount; i++)
    {
        var w = WorkerNode.Start(NodeConfig(AkkaCluster.WorkerRole, [coordinator.Address]), kernels, logs, workers: perNode);
        workers.Add(w);
        Observe(w.System, $"worker-{i + 1}");
    }
    var client = new RnnClusterClient(coordinator.System, coordinator.Relay, TimeSpan.FromMinutes(2));
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
    while ((await client.GetClusterStatusAsync()).Workers < workerCount * perNode)
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException("the workers did not register within 60 s");
        await Task.Delay(100);
    }

    // Four rows per worker.
    var job = FiftyMegabyteJob.Spec(batchSize: 4 * workerCount * perNode, minWorkers: workerCount * perNode);
    var data = FiftyMegabyteJob.Data(job.BatchSize * steps);
    Console.WriteLine($"{MathBackend.Describe(kernels)}");
    Console.WriteLine($"model: {FiftyMegabyteJob.Parameters:N0} parameters ({FiftyMegabyteJob.Parameters * 4 / 1e6:0.0} MB float32); {workerCount} workers; {steps} steps; " +
                      $"carrier {Opt("carrier", "socket")}, frame size {AkkaCluster.MaximumFrameSize}, chunk {Opt("chunk-size", TransferSettings.DefaultChunkSize.ToString())} B, window {Opt("window", TransferSettings.DefaultWindow.ToString())}");
    var started = DateTime.UtcNow;
    var stepEnds = new List<DateTime>();
    using (var handle = await client.StartWatchedJobAsync(job, data))
    {
        await foreach (var e in handle.Events(new CancellationTokenSource(TimeSpan.FromMinutes(10)).Token))
        {
            if (e is StepCompleted) stepEnds.Add(DateTime.UtcNow);
            if (e is JobFailed f) throw new InvalidOperationException($"job failed: {f.Reason}");
        }
    }
    await Task.Delay(200); // the last events
    exitCode = Report(started, stepEnds, options.ContainsKey("json"));
}
finally
{
    await Task.WhenAll(workers.Select(w => w.DisposeAsync().AsTask()));
    await coordinator.DisposeAsync();
}
return exitCode;

int Report(DateTime started, List<DateTime> stepEnds, bool json)
{
    List<(string Node, TransferEvent Event)> all;
    lock (events) all = [.. events];
    var sent = all.Where(x => x.Event.Outgoing && x.Event.Chunks > 0).ToList();
    var weightsOut = sent.Where(x => x.Node == "coordinator" && x.Event.Manifest == "ReplicaWeights").Select(x => x.Event).ToList();
    var gradientsBack = sent.Where(x => x.Node != "coordinator" && x.Event.Manifest == "ShardResult").Select(x => x.Event).ToList();
    var delivered = all.Where(x => !x.Event.Outgoing).ToList();

    var rows = new List<StepTimes>();
    var previousEnd = started;
    for (int k = 0; k < stepEnds.Count; k++)
    {
        var window = (From: previousEnd, To: stepEnds[k]);
        bool In(DateTime t) => t >= window.From && t <= window.To;
        // Weights of this step's version: the transfers that ended in this step's window.
        var wOut = weightsOut.Where(e => In(e.EndedUtc)).ToList();
        var gBack = gradientsBack.Where(e => In(e.EndedUtc)).ToList();
        double weightsSeconds = wOut.Count == 0 ? 0 : (wOut.Max(e => e.EndedUtc) - wOut.Min(e => e.StartedUtc)).TotalSeconds;
        double gradientsSeconds = gBack.Count == 0 ? 0 : (gBack.Max(e => e.EndedUtc) - gBack.Min(e => e.StartedUtc)).TotalSeconds;
        // Compute on a worker: from its weights delivered to its gradients' transfer starting (includes serializing the result).
        var computes = new List<double>();
        foreach (var g in all.Where(x => x.Node != "coordinator" && x.Event.Outgoing && x.Event.Manifest == "ShardResult" && In(x.Event.EndedUtc)))
        {
            var weightsIn = delivered.Where(x => x.Node == g.Node && x.Event.Manifest == "ReplicaWeights" && x.Event.EndedUtc <= g.Event.StartedUtc)
                .Select(x => x.Event.EndedUtc).DefaultIfEmpty(window.From).Max();
            computes.Add((g.Event.StartedUtc - weightsIn).TotalSeconds);
        }
        // Aggregation: from the last gradients delivered to the coordinator to the next weights' transfer starting.
        var lastGradient = delivered.Where(x => x.Node == "coordinator" && x.Event.Manifest == "ShardResult" && In(x.Event.EndedUtc))
            .Select(x => x.Event.EndedUtc).DefaultIfEmpty(window.To).Max();
        var nextWeights = weightsOut.Where(e => e.StartedUtc >= lastGradient).Select(e => e.StartedUtc).DefaultIfEmpty(window.To).Min();
        rows.Add(new StepTimes(k + 1, (window.To - window.From).TotalSeconds, weightsSeconds, computes.DefaultIfEmpty(0).Max(), gradientsSeconds,
            Math.Max(0, (nextWeights - lastGradient).TotalSeconds)));
        previousEnd = window.To;
    }

    double Rate(List<TransferEvent> list) => list.Count == 0 ? 0 : list.Sum(e => e.Bytes) / 1e6 / list.Sum(e => e.Elapsed.TotalSeconds);
    var summary = new
    {
        parameters = FiftyMegabyteJob.Parameters,
        workers = workerCount,
        steps = rows.Count,
        mean_step_s = rows.Skip(1).Select(r => r.Total).DefaultIfEmpty(rows.FirstOrDefault()?.Total ?? 0).Average(),
        weights_out_mb_s_per_transfer = Rate(weightsOut),
        gradients_back_mb_s_per_transfer = Rate(gradientsBack),
        weights_out_transfers = weightsOut.Count,
        gradients_back_transfers = gradientsBack.Count,
        unreachable_member_events = unreachable.Count,
        per_step = rows,
    };
    if (json)
    {
        Console.WriteLine(JsonSerializer.Serialize(summary));
    }
    else
    {
        Console.WriteLine("step   total s   weights out s   compute s   gradients back s   aggregation s");
        foreach (var r in rows)
            Console.WriteLine($"{r.Step,4} {r.Total,9:0.000} {r.WeightsOut,15:0.000} {r.Compute,11:0.000} {r.GradientsBack,18:0.000} {r.Aggregation,15:0.000}");
        Console.WriteLine($"weights out:    {weightsOut.Count} transfers of {FiftyMegabyteJob.Parameters * 4 / 1e6:0.0} MB, {Rate(weightsOut):0} MB/s each " +
                          $"({workerCount} at a time: {Rate(weightsOut) * workerCount:0} MB/s from the coordinator)");
        Console.WriteLine($"gradients back: {gradientsBack.Count} transfers of {FiftyMegabyteJob.Parameters * 4 / 1e6:0.0} MB, {Rate(gradientsBack):0} MB/s each");
        Console.WriteLine($"mean step (after the first): {summary.mean_step_s:0.000} s");
        Console.WriteLine($"UnreachableMember events: {unreachable.Count}");
    }
    if (unreachable.Count > 0)
    {
        Console.Error.WriteLine($"FAILED: members became unreachable: {string.Join(", ", unreachable)}");
        return 1;
    }
    return 0;
}

void Observe(ActorSystem system, string node)
{
    var recorder = system.ActorOf(Props.Create(() => new Recorder(node, events, unreachable)));
    system.EventStream.Subscribe(recorder, typeof(TransferEvent));
    Akka.Cluster.Cluster.Get(system).Subscribe(recorder, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember));
}

static Dictionary<string, string> ParseOptions(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) continue;
        var name = args[i][2..];
        if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) result[name] = args[++i];
        else result[name] = "true";
    }
    return result;
}

internal sealed record StepTimes(int Step, double Total, double WeightsOut, double Compute, double GradientsBack, double Aggregation);

internal sealed class Recorder : ReceiveActor
{
    public Recorder(string node, List<(string, TransferEvent)> events, List<string> unreachable)
    {
        Receive<TransferEvent>(e =>
        {
            lock (events) events.Add((node, e));
        });
        Receive<ClusterEvent.UnreachableMember>(u =>
        {
            lock (unreachable) unreachable.Add($"{u.Member.Address} (seen by {node})");
        });
        ReceiveAny(_ => { });
    }
}
