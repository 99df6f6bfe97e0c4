using Akka.Actor;
using Akka.Configuration;
using RnnCluster.Client;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Worker;

namespace RnnCluster.Coordinator;

/// <summary>
/// Local mode: one process, one actor system, the coordinator and one node with N compute actors
/// (default: one per core, each on its own thread with sequential MKL); no networking and no
/// serialization (the node gets the job's data set and weights by reference).
/// </summary>
public sealed class LocalMode : IAsyncDisposable
{
    private LocalMode(ActorSystem system, IActorRef coordinator, int workers)
    {
        System = system;
        Coordinator = coordinator;
        Workers = workers;
        Client = new RnnClusterClient(system, coordinator);
    }

    public ActorSystem System { get; }
    public IActorRef Coordinator { get; }
    public int Workers { get; }
    public RnnClusterClient Client { get; }

    /// <param name="logLevel">Akka's log level: the command line keeps INFO lines off the progress output.</param>
    /// <param name="checkpoints">Where and how often jobs checkpoint; null: no checkpoints.</param>
    public static LocalMode Start(int? workers, IMathKernels kernels, bool serializeMessages = false, string name = "rnncluster", string logLevel = "INFO",
        CoordinatorCheckpoints? checkpoints = null)
    {
        int count = workers ?? Environment.ProcessorCount;
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(workers), count, "--workers must be at least 1");
        var config = ConfigurationFactory.ParseString($"akka.loglevel = {logLevel}").WithFallback(AkkaConfig.Local(serializeMessages));
        var system = ActorSystem.Create(name, config);
        var coordinator = system.ActorOf(CoordinatorActor.Props(checkpoints), CoordinatorActor.Name);
        system.ActorOf(NodeActor.Props(kernels, count, coordinator), "node");
        return new LocalMode(system, coordinator, count);
    }

    /// <summary>Waits until every worker actor has registered, so the first job sees all of them.</summary>
    public async Task WaitForWorkersAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await Coordinator.Ask<ClusterStatus>(GetClusterStatus.Instance, timeout);
            if (status.Workers >= Workers) return;
            if (DateTime.UtcNow > deadline) throw new RnnClusterException($"only {status.Workers} of {Workers} workers registered within {timeout.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync() => await System.Terminate();
}
