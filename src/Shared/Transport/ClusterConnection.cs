using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using Akka.Event;
using Microsoft.Extensions.Logging;
using RnnCluster.Client;
using RnnCluster.Hosting;
using RnnCluster.Protocol;

namespace RnnCluster.Transport;

/// <summary>
/// A client outside the cluster: its own actor system with remoting (port 0 unless told otherwise,
/// no cluster membership), a ClusterClient to the coordinator nodes' receptionists, and an
/// <see cref="RnnClusterClient"/> whose target is a local gateway actor, so the client API is the
/// same as in local mode. The gateway finds the <c>coordinator-relay</c> of a contact node through
/// the ClusterClient and then sends the large requests (<see cref="StartJob"/> with the job's data,
/// <see cref="SetWeights"/>, <see cref="PredictRequest"/>, <see cref="ResetStates"/>) to it
/// through <see cref="Transfer"/> in chunks; small requests go through the ClusterClient. Replies
/// and progress events come back over remoting (chunked when large), so the coordinator nodes must
/// be able to reach the client's address (give <c>--public-hostname</c> across machines).
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly ILoggerFactory? _ownLogs;

    private ClusterConnection(ActorSystem system, RnnClusterClient client, Task lost, ILoggerFactory? ownLogs)
    {
        System = system;
        Client = client;
        Lost = lost;
        _ownLogs = ownLogs;
    }

    public ActorSystem System { get; }

    public RnnClusterClient Client { get; }

    /// <summary>Completes (with an <see cref="RnnClusterException"/>) when the coordinator node the client talks to is gone.</summary>
    public Task Lost { get; }

    /// <summary>
    /// Starts the client system and waits up to <paramref name="connectTimeout"/> for a coordinator
    /// node at one of <paramref name="contacts"/> to answer; otherwise stops everything and throws
    /// <see cref="RnnClusterException"/> naming the contacts.
    /// </summary>
    public static async Task<ClusterConnection> ConnectAsync(IReadOnlyList<Address> contacts, NodeOptions self, TimeSpan connectTimeout,
        TimeSpan askTimeout, ILoggerFactory? loggerFactory = null, Config? overrides = null, CancellationToken cancel = default)
    {
        if (contacts.Count == 0) throw new ArgumentException("at least one contact address is needed", nameof(contacts));
        contacts = [.. contacts.Select(c => AkkaCluster.ForTransport(c, self.TlsDirectory is not null))];
        // Without a factory of the caller's: errors only, on stderr (stdout is the client program's output).
        var ownLogs = loggerFactory is null ? NodeLogging.CreateConsoleFactory(Microsoft.Extensions.Logging.LogLevel.Error, toStandardError: true) : null;
        // With TLS a refused handshake is logged by Akka's transport as a many-line ERROR; the
        // client's one-line error names the reason instead (Security/ConnectionDiagnosis).
        var level = ownLogs is null ? "WARNING" : self.TlsDirectory is null ? "ERROR" : "OFF";
        var config = overrides is null ? AkkaCluster.Client(self, level) : overrides.WithFallback(AkkaCluster.Client(self, level));
        ActorSystem system;
        try
        {
            system = AkkaCluster.Create(AkkaCluster.ClientSystemName, config, loggerFactory ?? ownLogs);
        }
        catch
        {
            ownLogs?.Dispose();
            throw;
        }
        try
        {
            Transfer.For(system);
            var initial = contacts.Select(a => ActorPath.Parse($"{a}/system/receptionist")).ToImmutableHashSet();
            var clusterClient = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(initial)), "cluster-client");
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var gateway = system.ActorOf(Props.Create(() => new CoordinatorGateway(clusterClient, lost)), "coordinator-gateway");
            try
            {
                await gateway.Ask<CoordinatorGateway.Connected>(CoordinatorGateway.AwaitConnected.Instance, connectTimeout, cancel);
            }
            catch (AskTimeoutException)
            {
                var why = await Security.ConnectionDiagnosis.WhyNoAnswerAsync(system, contacts)
                          ?? "is the address right and the coordinator running?";
                throw new RnnClusterException($"no coordinator answered at {string.Join(", ", contacts)} within {connectTimeout.TotalSeconds:0} s ({why})");
            }
            return new ClusterConnection(system, new RnnClusterClient(system, gateway, askTimeout), lost.Task, ownLogs);
        }
        catch
        {
            // The program is about to print the error and exit: do not hold it for the
            // transport's graceful shutdown (seconds when a handshake never completed).
            await Task.WhenAny(system.Terminate(), Task.Delay(TimeSpan.FromSeconds(2)));
            ownLogs?.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        _ownLogs?.Dispose();
    }
}

/// <summary>The client's stand-in for the coordinator (see <see cref="ClusterConnection"/>).</summary>
internal sealed class CoordinatorGateway : ReceiveActor, IWithTimers
{
    public sealed record AwaitConnected : INoSerializationVerificationNeeded
    {
        public static readonly AwaitConnected Instance = new();
    }

    public sealed record Connected(IActorRef Relay) : INoSerializationVerificationNeeded;

    private sealed record Find : INoSerializationVerificationNeeded
    {
        public static readonly Find Instance = new();
    }

    private const string RelayId = "coordinator-relay";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly IActorRef _clusterClient;
    private readonly TaskCompletionSource _lost;
    private readonly List<IActorRef> _waiting = [];
    private IActorRef? _relay;

    public ITimerScheduler Timers { get; set; } = null!;

    public CoordinatorGateway(IActorRef clusterClient, TaskCompletionSource lost)
    {
        _clusterClient = clusterClient;
        _lost = lost;
        Receive<Find>(_ => _clusterClient.Tell(new ClusterClient.Send(AkkaCluster.RelayPath, new Identify(RelayId)), Self));
        Receive<ActorIdentity>(OnIdentity);
        Receive<AwaitConnected>(_ =>
        {
            if (_relay is not null) Sender.Tell(new Connected(_relay));
            else _waiting.Add(Sender);
        });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_relay)) return;
            _log.Warning("lost the coordinator node {0}", t.ActorRef.Path.Address);
            _lost.TrySetException(new RnnClusterException($"lost the connection to the coordinator node {t.ActorRef.Path.Address}"));
            _relay = null;
            StartFinding();
        });
        Receive<IProtocolMessage>(OnRequest);
        StartFinding();
    }

    private void StartFinding() => Timers.StartPeriodicTimer("find", Find.Instance, TimeSpan.Zero, TimeSpan.FromMilliseconds(500));

    private void OnIdentity(ActorIdentity identity)
    {
        if (identity.Subject is not { } relay || _relay is not null) return;
        _relay = relay;
        Context.Watch(relay);
        Timers.Cancel("find");
        _log.Info("connected to {0}", relay.Path);
        foreach (var w in _waiting) w.Tell(new Connected(relay));
        _waiting.Clear();
    }

    private void OnRequest(IProtocolMessage message)
    {
        bool large = message is StartJob or SetWeights or PredictRequest or ResetStates;
        if (large && _relay is not null) _transfer.Tell(_relay, message, Sender);
        else _clusterClient.Forward(new ClusterClient.Send(AkkaCluster.RelayPath, message));
    }
}
