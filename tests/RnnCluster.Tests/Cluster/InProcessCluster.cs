using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using RnnCluster.Client;
using RnnCluster.Coordinator.Cluster;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Worker;
using Xunit;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// A cluster of separate ActorSystems in this process, joined over loopback (127.0.0.1, port 0)
/// with fast failure detection: one coordinator node and any number of worker nodes. Everything it
/// starts stops on dispose. Tests run one at a time (the collection) to keep the 2-core machine calm.
/// </summary>
internal sealed class InProcessCluster : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly List<WorkerNode> _workers = [];
    private readonly Config _overrides;

    private InProcessCluster(CoordinatorNode coordinator, Config overrides)
    {
        Coordinator = coordinator;
        _overrides = overrides;
        Client = new RnnClusterClient(coordinator.System, coordinator.Relay, Wait);
    }

    public CoordinatorNode Coordinator { get; }

    /// <summary>A client on the coordinator node, through the relay (as remote clients reach it).</summary>
    public RnnClusterClient Client { get; }

    public IReadOnlyList<WorkerNode> Workers => _workers;

    /// <summary>Test settings: fast membership, warnings only, and whatever <paramref name="overrides"/> says.</summary>
    public static Config NodeConfig(string role, IReadOnlyList<Address> seeds, Config? overrides = null) =>
        (overrides ?? Config.Empty)
            .WithFallback(AkkaCluster.FastFailureDetection())
            .WithFallback(AkkaCluster.Node(new NodeOptions { Host = "127.0.0.1", Port = 0, Seeds = seeds }, role, logLevel: "WARNING"));

    /// <summary>A coordinator and <paramref name="workers"/> worker nodes of <paramref name="workersPerNode"/> compute actors each, registered.</summary>
    public static async Task<InProcessCluster> StartAsync(int workers, Config? overrides = null, int workersPerNode = 1)
    {
        var coordinator = CoordinatorNode.Start(NodeConfig(AkkaCluster.CoordinatorRole, [], overrides));
        var cluster = new InProcessCluster(coordinator, overrides ?? Config.Empty);
        try
        {
            for (int i = 0; i < workers; i++) cluster.AddWorker(workersPerNode);
            await cluster.WaitForWorkersAsync(workers * workersPerNode);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a worker node with <paramref name="workers"/> compute actors (one, unless told otherwise: the tests count workers as nodes).</summary>
    public WorkerNode AddWorker(int workers = 1)
    {
        var worker = WorkerNode.Start(NodeConfig(AkkaCluster.WorkerRole, [Coordinator.Address], _overrides), new ManagedKernels(), workers: workers);
        _workers.Add(worker);
        return worker;
    }

    public async Task<ClusterStatus> StatusAsync() =>
        await Coordinator.Proxy.Ask<ClusterStatus>(GetClusterStatus.Instance, Wait);

    /// <summary>Polls the coordinator until exactly <paramref name="count"/> workers are registered.</summary>
    public async Task WaitForWorkersAsync(int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var status = await StatusAsync();
            if (status.Workers == count) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{status.Workers} workers registered, expected {count} within {Wait.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    /// <summary>Records UnreachableMember events seen by the coordinator node.</summary>
    public IActorRef WatchUnreachable(List<string> seen) =>
        Coordinator.System.ActorOf(Props.Create(() => new UnreachableRecorder(seen)));

    public async ValueTask DisposeAsync()
    {
        // Workers first, so the coordinator sees them leave rather than vanish.
        await Task.WhenAll(_workers.Select(w => StopAsync(w.System)));
        await StopAsync(Coordinator.System);
    }

    private static async Task StopAsync(ActorSystem system)
    {
        var shutdown = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
        if (await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromSeconds(15))) != shutdown) await system.Terminate();
        await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(10)));
    }

    private sealed class UnreachableRecorder : ReceiveActor
    {
        public UnreachableRecorder(List<string> seen)
        {
            Receive<Akka.Cluster.ClusterEvent.UnreachableMember>(u =>
            {
                lock (seen) seen.Add(u.Member.Address.ToString());
            });
            ReceiveAny(_ => { });
        }

        protected override void PreStart() =>
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, Akka.Cluster.ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(Akka.Cluster.ClusterEvent.UnreachableMember));
    }
}

/// <summary>Small jobs and data for the cluster tests.</summary>
internal static class ClusterJobs
{
    /// <summary>SimpleRNN(4) -> Dense(1), mse, Adam, no shuffle, no validation: deterministic for a given row cut.</summary>
    public static JobSpec Small(int batch = 8, int epochs = 3, int minWorkers = 1) => new()
    {
        Name = "cluster-probe",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 4 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
        Data = new DataSpec(),
        BatchSize = batch,
        Epochs = epochs,
        Shuffle = false,
        Seed = 3,
        MinWorkers = minWorkers,
    };

    /// <summary>A stateful LSTM(units) -> Dense(1): row i of each batch continues row i of the previous one.</summary>
    public static JobSpec Stateful(int batch = 4, int epochs = 2, int units = 3) => Small(batch, epochs) with
    {
        Name = "cluster-stateful",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.Lstm, Units = units },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        States = new StatePolicy { Policy = StatePolicyKind.Stateful, Reset = StateReset.Never },
    };

    /// <summary>Smooth pseudo-random data (rows, timesteps, features) -> (rows, 1).</summary>
    public static Dataset Data(int rows, int timesteps = 5, int features = 2, int seed = 11)
    {
        var random = new Random(seed);
        var x = new float[rows * timesteps * features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var y = new float[rows];
        for (int i = 0; i < rows; i++) y[i] = (float)Math.Sin(i * 0.7) * 0.5f;
        return new Dataset(new Tensor(x, rows, timesteps, features), new Tensor(y, rows, 1), [], "cluster test data");
    }

    /// <summary>Every event of a watched job until it ends; fails on JobFailed or when <paramref name="timeout"/> passes.</summary>
    public static async Task<List<IJobEvent>> RunAsync(JobHandle handle, TimeSpan timeout, Func<IJobEvent, Task>? onEvent = null)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var events = new List<IJobEvent>();
        try
        {
            await foreach (var e in handle.Events(cancel.Token))
            {
                events.Add(e);
                if (onEvent is not null) await onEvent(e);
                if (e is JobFailed f) Assert.Fail($"job failed: {f.Reason}");
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the job did not end within {timeout.TotalSeconds} s; {events.Count} events so far");
        }
        return events;
    }

    /// <summary>
    /// Every weight within <paramref name="relative"/> of the expected value (values near zero: of
    /// 1% of the tensor's largest magnitude), or with <paramref name="ofTensorMax"/>, of the tensor's
    /// largest magnitude.
    /// </summary>
    public static void AssertClose(IReadOnlyList<NamedTensor> expected, IReadOnlyList<NamedTensor> actual, double relative, bool ofTensorMax = false)
    {
        Assert.Equal(expected.Select(w => w.Name), actual.Select(w => w.Name));
        for (int k = 0; k < expected.Count; k++)
        {
            var e = expected[k].Value.Data;
            var a = actual[k].Value.Data;
            Assert.Equal(e.Length, a.Length);
            double scale = Math.Max(1e-6, e.Max(v => Math.Abs((double)v)));
            for (int i = 0; i < e.Length; i++)
            {
                double diff = Math.Abs(e[i] - (double)a[i]);
                double reference = ofTensorMax ? scale : Math.Max(Math.Abs((double)e[i]), scale * 0.01);
                Assert.True(diff <= relative * reference + 1e-7,
                    $"{expected[k].Name}[{i}]: expected {e[i]}, got {a[i]} (relative tolerance {relative})");
            }
        }
    }
}
