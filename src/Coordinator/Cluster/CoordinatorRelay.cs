using Akka.Actor;
using Akka.Event;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Coordinator.Cluster;

/// <summary>
/// The clients' entry on every coordinator node (<c>/user/coordinator-relay</c>, registered with the
/// ClusterClientReceptionist). It learns where the coordinator singleton runs (the sender of the
/// answer to a <see cref="GetClusterStatus"/> sent through the singleton proxy), watches it, and
/// passes every client message on with the client's sender through <see cref="Transfer"/>, so a
/// large <see cref="StartJob"/> reaches the singleton in chunks even when it runs on another
/// coordinator node (the proxy would forward it in one frame). Messages that arrive while the
/// singleton is unknown wait in the stash.
/// </summary>
public sealed class CoordinatorRelay : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private sealed record Locate : INoSerializationVerificationNeeded
    {
        public static readonly Locate Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly IActorRef _proxy;
    private IActorRef? _coordinator;
    private int _attempts;

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public CoordinatorRelay(IActorRef proxy)
    {
        _proxy = proxy;
        Locating();
    }

    public static Props Props(IActorRef proxy) => Akka.Actor.Props.Create(() => new CoordinatorRelay(proxy));

    private void Locating()
    {
        Timers.StartPeriodicTimer("locate", Locate.Instance, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        _attempts = 0;
        Receive<Locate>(_ =>
        {
            if (++_attempts % 30 == 0) _log.Warning("no coordinator singleton has answered for {0} s (is a node with role coordinator up?)", _attempts);
            _proxy.Tell(GetClusterStatus.Instance, Self);
        });
        Receive<ClusterStatus>(_ =>
        {
            _coordinator = Sender;
            Context.Watch(_coordinator);
            Timers.Cancel("locate");
            _log.Info("the coordinator is {0}", _coordinator.Path);
            Become(Relaying);
            Stash.UnstashAll();
        });
        Receive<IProtocolMessage>(_ => Stash.Stash());
    }

    private void Relaying()
    {
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_coordinator)) return;
            _log.Warning("the coordinator {0} is gone; looking for its successor", t.ActorRef.Path);
            _coordinator = null;
            Become(Locating);
        });
        Receive<ClusterStatus>(_ => { });
        Receive<IProtocolMessage>(m => _transfer.Tell(_coordinator!, m, Sender));
    }
}
