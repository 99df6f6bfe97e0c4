using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Microsoft.Extensions.Logging;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Transport;

namespace RnnCluster.Coordinator.Cluster;

/// <summary>
/// A coordinator node: a cluster member with role <c>coordinator</c> running the
/// <see cref="CoordinatorActor"/> as a cluster singleton (<c>/user/coordinator-singleton/coordinator</c>),
/// the singleton proxy (<c>/user/coordinator-proxy</c>), the clients' <see cref="CoordinatorRelay"/>
/// registered with the ClusterClientReceptionist, and the node's transfer actor.
/// Used by <c>rnncluster coordinator</c> and by the tests.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    private CoordinatorNode(ActorSystem system, IActorRef proxy, IActorRef relay)
    {
        System = system;
        Proxy = proxy;
        Relay = relay;
    }

    public ActorSystem System { get; }

    /// <summary>The coordinator singleton's proxy on this node.</summary>
    public IActorRef Proxy { get; }

    public IActorRef Relay { get; }

    /// <summary>This node's address (with the real port when it was started on port 0).</summary>
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    /// <summary>
    /// Starts the node with <paramref name="config"/> (<see cref="AkkaCluster.Node"/> with role
    /// coordinator). Without seed nodes in the configuration it joins itself: the first node of a
    /// new cluster.
    /// </summary>
    /// <param name="checkpoints">Where jobs checkpoint; the singleton resumes every unfinished job found there when it starts.</param>
    public static CoordinatorNode Start(Config config, ILoggerFactory? loggerFactory = null, Actors.CoordinatorCheckpoints? checkpoints = null)
    {
        var system = AkkaCluster.Create(AkkaCluster.SystemName, config, loggerFactory);
        try
        {
            Transfer.For(system);
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (!cluster.SelfRoles.Contains(AkkaCluster.CoordinatorRole))
                throw new NodeOptionsException($"a coordinator node needs the role '{AkkaCluster.CoordinatorRole}' (akka.cluster.roles)");
            system.ActorOf(ClusterSingletonManager.Props(
                    CoordinatorActor.Props(checkpoints),
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(AkkaCluster.CoordinatorRole).WithSingletonName(AkkaCluster.SingletonName)),
                AkkaCluster.SingletonManagerName);
            var proxy = system.ActorOf(AkkaCluster.CoordinatorProxyProps(system), AkkaCluster.ProxyName);
            var relay = system.ActorOf(CoordinatorRelay.Props(proxy), AkkaCluster.RelayName);
            ClusterClientReceptionist.Get(system).RegisterService(relay);
            if (system.Settings.Config.GetStringList("akka.cluster.seed-nodes").Count == 0) cluster.Join(cluster.SelfAddress);
            return new CoordinatorNode(system, proxy, relay);
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
