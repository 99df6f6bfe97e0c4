using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Logging;
using RnnCluster.Hosting;
using RnnCluster.Numerics;
using RnnCluster.Transport;

namespace RnnCluster.Worker;

/// <summary>
/// A worker node: a cluster member with role <c>worker</c>, the coordinator singleton's proxy
/// (<c>/user/coordinator-proxy</c>), the node's transfer actor, and, once the node is Up, one
/// <see cref="WorkerActor"/> (<c>/user/worker</c>) that registers with the coordinator through the
/// proxy. Used by <c>rnncluster-worker</c> and by the tests.
/// </summary>
public sealed class WorkerNode : IAsyncDisposable
{
    public const string WorkerName = "worker";

    private WorkerNode(ActorSystem system, IActorRef proxy)
    {
        System = system;
        Proxy = proxy;
    }

    public ActorSystem System { get; }

    public IActorRef Proxy { get; }

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    /// <summary>
    /// Starts the node with <paramref name="config"/> (<see cref="AkkaCluster.Node"/> with role worker
    /// and seed nodes) and <paramref name="workers"/> compute actors (default: one per core).
    /// </summary>
    public static WorkerNode Start(Config config, IMathKernels kernels, ILoggerFactory? loggerFactory = null, int? workers = null)
    {
        int count = workers ?? Environment.ProcessorCount;
        if (count < 1) throw new NodeOptionsException($"--workers must be at least 1, got {count}");
        var system = AkkaCluster.Create(AkkaCluster.SystemName, config, loggerFactory);
        try
        {
            Transfer.For(system);
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (system.Settings.Config.GetStringList("akka.cluster.seed-nodes").Count == 0)
                throw new NodeOptionsException("a worker needs at least one seed node (--seed or RNNCLUSTER_SEEDS)");
            var proxy = system.ActorOf(AkkaCluster.CoordinatorProxyProps(system), AkkaCluster.ProxyName);
            cluster.RegisterOnMemberUp(() => system.ActorOf(NodeActor.Props(kernels, count, proxy), WorkerName));
            return new WorkerNode(system, proxy);
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
    }

    /// <summary>Leaves the cluster and stops the system (coordinated shutdown).</summary>
    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        await System.WhenTerminated;
    }
}
