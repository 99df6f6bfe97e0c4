using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Transport;

/// <summary>
/// Sends protocol messages of any size between nodes without one oversized remoting frame.
/// Actors use <see cref="Tell"/> (and <see cref="Ask{T}"/>) instead of <c>IActorRef.Tell</c> for
/// every message to a peer that may receive large ones (weights, gradients, blocks, job data):
/// <list type="bullet">
/// <item>the target is in this process, or this system has no remoting: a plain Tell, nothing serialized;</item>
/// <item>otherwise the message is serialized here (ProtocolSerializer, once for all targets) and,
/// with the default carrier (<see cref="TransferCarrier.Socket"/>), written to the destination
/// node over this node's <see cref="DataPlane"/>: one TCP connection per destination node, apart
/// from Akka's, so no cluster heartbeat waits behind a tensor;</item>
/// <item>with <see cref="TransferCarrier.Akka"/> (the earlier transport) it goes to this node's
/// transfer actor (<see cref="ActorPath"/>), which keeps one queue per destination node: a small
/// message with nothing queued ahead goes as a plain remote Tell; a large one is cut into
/// <see cref="TransferChunk"/>s of <see cref="TransferSettings.ChunkSize"/> bytes sent to the
/// destination's transfer actor with at most <see cref="TransferSettings.Window"/> chunks
/// unacknowledged. The receiver reassembles the bytes, deserializes, and delivers the message to
/// the target with the original sender.</item>
/// </list>
/// Order: messages sent through <see cref="Tell"/> from one node to one destination node arrive
/// in the order they were sent, large and small alike. A message sent with a plain Tell may
/// overtake one sent through <see cref="Tell"/> and the other way round.
/// Delivery is at most once, as Akka's: a destination that fails or stops taking data for
/// <see cref="TransferSettings.Timeout"/> loses the message in flight and everything queued to it,
/// with a warning (and, on the data plane, a <see cref="TransferFailed"/> event).
/// </summary>
public sealed class Transfer : IExtension
{
    /// <summary>Name of the transfer actor under <c>/system</c>.</summary>
    public const string ActorName = "rnncluster-transfer";

    private readonly ExtendedActorSystem _system;
    private readonly IActorRef? _actor;
    private readonly DataPlane? _dataPlane;

    internal Transfer(ExtendedActorSystem system)
    {
        _system = system;
        Settings = TransferSettings.From(system.Settings.Config);
        // A coordinator keeps one send buffer plus one reassembly buffer per worker sending at once.
        Buffers = new TransferBuffers(smallestPooled: Settings.ChunkSize, maxRetained: 4);
        TensorArrays = new ReceivedTensorArrays(smallestPooled: Settings.ChunkSize / sizeof(float), maxRetained: 4);
        if (system.Provider is not IRemoteActorRefProvider) return;
        if (Settings.Carrier == TransferCarrier.Socket)
        {
            _dataPlane = new DataPlane(system, Settings.DataPlane, Buffers, TensorArrays, ResolveDataPort);
            system.RegisterOnTermination(_dataPlane.Dispose);
        }
        _actor = system.SystemActorOf(TransferActor.Props(Settings, Buffers, TensorArrays, _dataPlane?.Port), ActorName);
    }

    /// <summary>The port of this node's data plane; null when messages travel in chunks over Akka (or there is no remoting).</summary>
    public int? DataPort => _dataPlane?.Port;

    /// <summary>Asks the transfer actor of the node at <paramref name="node"/> for its data-plane port, over the control plane.</summary>
    private async Task<int> ResolveDataPort(Address node, CancellationToken cancel)
    {
        var peer = _system.Provider.ResolveActorRef(ActorPath(node));
        try
        {
            var reply = await peer.Ask<DataPlaneAddress>(DataPlaneQuery.Instance, Settings.DataPlane.Timeout, cancel);
            if (reply.Port is <= 0 or > 65535) throw new IOException($"{node} announced data-plane port {reply.Port}");
            return reply.Port;
        }
        catch (AskTimeoutException)
        {
            throw new IOException($"{node} did not say where its data plane listens within {Settings.DataPlane.Timeout.TotalSeconds:0} s (is it an RnnCluster node that sends in chunks, rnncluster.transfer.carrier = akka?)");
        }
    }

    /// <summary>The system's transfer extension; on a system with remoting this starts its transfer actor.</summary>
    public static Transfer For(ActorSystem system) => system.WithExtension<Transfer, TransferExtensionId>();

    public TransferSettings Settings { get; }

    /// <summary>The buffers this node serializes large messages into and reassembles them in.</summary>
    internal TransferBuffers Buffers { get; }

    /// <summary>The arrays large received tensors are deserialized into, lent to their receivers.</summary>
    internal ReceivedTensorArrays TensorArrays { get; }

    /// <summary>
    /// The receiver of a message is done with <paramref name="tensor"/>: if its array was lent by
    /// this node's transfer layer (a large tensor that arrived from another node), the next
    /// received tensor of the same length is written into it instead of a fresh array. The caller
    /// must not touch the tensor afterwards. Any other tensor (one from a local sender, which
    /// still owns it) is left alone, so receivers may recycle whatever they got.
    /// </summary>
    public void Recycle(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        TensorArrays.Recycle(tensor.Data);
    }

    /// <summary>Path of the transfer actor of the node at <paramref name="address"/>.</summary>
    public static ActorPath ActorPath(Address address) => new RootActorPath(address) / "system" / ActorName;

    /// <summary>Sends <paramref name="message"/> to <paramref name="target"/> as from <paramref name="sender"/>, chunked when large and remote.</summary>
    public void Tell(IActorRef target, object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(target);
        Tell([target], message, sender);
    }

    /// <summary>
    /// Sends one <paramref name="message"/> to every one of <paramref name="targets"/>, as
    /// <see cref="Tell(IActorRef, object, IActorRef?)"/> to each in turn would (same order rules),
    /// but serialized once for all remote targets: a broadcast of weights costs one serialization,
    /// not one per worker.
    /// </summary>
    public void Tell(IReadOnlyCollection<IActorRef> targets, object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(message);
        var remote = new List<IActorRef>(targets.Count);
        foreach (var target in targets)
        {
            ArgumentNullException.ThrowIfNull(target);
            if (_actor is null || IsLocal(target) || message is not IProtocolMessage) target.Tell(message, sender);
            else remote.Add(target);
        }
        if (remote.Count == 0) return;
        foreach (var outgoing in Prepare(remote, message, sender)) Send(outgoing);
    }

    private void Send(Outgoing outgoing)
    {
        if (_dataPlane is not null) _dataPlane.Send(outgoing);
        else _actor!.Tell(outgoing, ActorRefs.NoSender);
    }

    /// <summary>
    /// Asks <paramref name="target"/> with a message made for the temporary reply actor (as
    /// <c>Ask(Func&lt;IActorRef, object&gt;)</c> does), the message travelling as <see cref="Tell"/> sends it.
    /// </summary>
    public Task<T> Ask<T>(IActorRef target, Func<IActorRef, object> messageFactory, TimeSpan timeout, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(messageFactory);
        if (_actor is null || IsLocal(target)) return target.Ask<T>(messageFactory, timeout, cancel);
        return _actor.Ask<T>(replyTo =>
        {
            var message = messageFactory(replyTo);
            if (message is not IProtocolMessage) return new PlainSend(target, message, replyTo);
            var outgoing = Prepare([target], message, replyTo)[0];
            if (_dataPlane is null) return outgoing;
            _dataPlane.Send(outgoing);
            return TransferActor.Sent.Instance;
        }, timeout, cancel);
    }

    private static bool IsLocal(IActorRef target) =>
        target is IInternalActorRef { IsLocal: true } || target.Path.Address.HasLocalScope;

    /// <summary>
    /// Serializes in the caller's thread (a snapshot of the message, and the cost stays with the
    /// sender), once for all <paramref name="targets"/>: one <see cref="Outgoing"/> per target,
    /// all sharing one payload.
    /// </summary>
    private Outgoing[] Prepare(IReadOnlyList<IActorRef> targets, object message, IActorRef? sender)
    {
        var serializer = (ProtocolSerializer)_system.Serialization.FindSerializerFor(message);
        // Actor refs inside the message (temporary ask actors too) must be written with this node's address.
        var (bytes, length, senderPath) = Akka.Serialization.Serialization.WithTransport(_system, () =>
        {
            var written = serializer.ToBinary(message, Buffers.Rent, out int count);
            return (written, count, Akka.Serialization.Serialization.SerializedActorPath(sender));
        });
        var payload = new SerializedPayload(Buffers, bytes, length, targets.Count);
        var manifest = serializer.Manifest(message);
        var outgoing = new Outgoing[targets.Count];
        for (int i = 0; i < outgoing.Length; i++)
            outgoing[i] = new Outgoing(targets[i], message, sender, payload, manifest,
                Akka.Serialization.Serialization.SerializedActorPath(targets[i]), senderPath ?? "");
        return outgoing;
    }
}

/// <summary>
/// A message for another node, already serialized (local to the sending node). The transfer actor
/// releases <paramref name="Payload"/> exactly once, when this message is sent or dropped.
/// </summary>
internal sealed record Outgoing(IActorRef Target, object Message, IActorRef? Sender, SerializedPayload Payload, string Manifest,
    string TargetPath, string SenderPath) : INoSerializationVerificationNeeded;

/// <summary>A non-protocol message sent in order through the transfer actor (local to the sending node).</summary>
internal sealed record PlainSend(IActorRef Target, object Message, IActorRef? Sender) : INoSerializationVerificationNeeded;

internal sealed class TransferExtensionId : ExtensionIdProvider<Transfer>
{
    public override Transfer CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>What carries protocol messages between nodes (<c>rnncluster.transfer.carrier</c>).</summary>
public enum TransferCarrier
{
    /// <summary>The data plane: a TCP connection per pair of nodes, apart from Akka's (the default).</summary>
    Socket,

    /// <summary>Chunks through Akka's own connection, a window of them unacknowledged (the earlier transport, kept for comparison).</summary>
    Akka,
}

/// <summary>
/// <c>rnncluster.transfer</c>: <c>carrier</c> (<c>socket</c>, the default: the data plane; or
/// <c>akka</c>: chunks over Akka's connection), and for the <c>akka</c> carrier <c>chunk-size</c>
/// (bytes per chunk, default 64 KiB; must leave room under
/// <c>akka.remote.dot-netty.tcp.maximum-frame-size</c>), <c>window</c> (unacknowledged chunks per
/// destination, default 16), <c>timeout</c> (no acknowledgement, or for the data plane no progress,
/// for this long drops the transfer, default 30 s). <c>rnncluster.data-plane</c>: see
/// <see cref="DataPlaneSettings"/>.
/// </summary>
public sealed record TransferSettings(int ChunkSize, int Window, TimeSpan Timeout)
{
    public const int DefaultChunkSize = 64 * 1024;
    public const int DefaultWindow = 16;

    /// <summary>Bytes a chunk's header and framing may add to its data.</summary>
    public const int ChunkOverhead = 8 * 1024;

    /// <summary>Environment variable for <c>rnncluster.data-plane.port</c>.</summary>
    public const string DataPortVariable = "RNNCLUSTER_DATA_PORT";

    public TransferCarrier Carrier { get; init; } = TransferCarrier.Socket;

    internal DataPlaneSettings DataPlane { get; init; } = null!;

    public static TransferSettings From(Config config)
    {
        int chunk = config.HasPath("rnncluster.transfer.chunk-size")
            ? (int)(config.GetByteSize("rnncluster.transfer.chunk-size") ?? DefaultChunkSize)
            : DefaultChunkSize;
        int window = config.HasPath("rnncluster.transfer.window") ? config.GetInt("rnncluster.transfer.window") : DefaultWindow;
        var timeout = config.HasPath("rnncluster.transfer.timeout") ? config.GetTimeSpan("rnncluster.transfer.timeout") : TimeSpan.FromSeconds(30);
        if (chunk < 1024) throw new ConfigurationException($"rnncluster.transfer.chunk-size must be at least 1 KiB, got {chunk} bytes");
        if (window < 1) throw new ConfigurationException($"rnncluster.transfer.window must be at least 1, got {window}");
        if (config.HasPath("akka.remote.dot-netty.tcp.maximum-frame-size"))
        {
            long frame = config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128000;
            if (chunk + ChunkOverhead > frame)
                throw new ConfigurationException(
                    $"rnncluster.transfer.chunk-size ({chunk} bytes) does not fit in akka.remote.dot-netty.tcp.maximum-frame-size ({frame} bytes) with {ChunkOverhead} bytes to spare");
        }
        var carrierName = config.GetString("rnncluster.transfer.carrier", "socket");
        var carrier = carrierName switch
        {
            "socket" => TransferCarrier.Socket,
            "akka" => TransferCarrier.Akka,
            _ => throw new ConfigurationException($"rnncluster.transfer.carrier must be socket or akka, got '{carrierName}'"),
        };
        return new TransferSettings(chunk, window, timeout) { Carrier = carrier, DataPlane = DataPlaneFrom(config, timeout, chunk) };
    }

    private static DataPlaneSettings DataPlaneFrom(Config config, TimeSpan timeout, int chunk)
    {
        var host = config.GetString("rnncluster.data-plane.hostname", null) is { Length: > 0 } h ? h
            : config.GetString("akka.remote.dot-netty.tcp.hostname", null) is { Length: > 0 } akka ? akka : "127.0.0.1";
        // The configuration (a --data-port option ends up there) wins over the environment.
        int port = 0;
        if (config.HasPath("rnncluster.data-plane.port")) port = config.GetInt("rnncluster.data-plane.port");
        else if (Environment.GetEnvironmentVariable(DataPortVariable) is { Length: > 0 } fromEnvironment && !int.TryParse(fromEnvironment, out port))
            throw new ConfigurationException($"{DataPortVariable} must be a port number, got '{fromEnvironment}'");
        if (port is < 0 or > 65535) throw new ConfigurationException($"rnncluster.data-plane.port must be 0..65535, got {port}");
        long maxMessage = config.GetByteSize("rnncluster.data-plane.max-message-size") ?? Array.MaxLength;
        long maxQueued = config.GetByteSize("rnncluster.data-plane.max-queued-bytes") ?? 4L << 30;
        int socketBuffer = (int)(config.GetByteSize("rnncluster.data-plane.socket-buffer-size") ?? 0);
        if (maxMessage < 1 || maxMessage > Array.MaxLength)
            throw new ConfigurationException($"rnncluster.data-plane.max-message-size must be 1..{Array.MaxLength} bytes, got {maxMessage}");
        return new DataPlaneSettings(host, port, timeout, maxMessage, maxQueued, socketBuffer, chunk);
    }
}

/// <summary>
/// Published on the node's event stream for every message the transfer actor sends or delivers
/// (benchmarks and logs read it): <paramref name="Outgoing"/> true for a send, whose time runs from
/// the first chunk sent to the last chunk acknowledged (zero for a plain send); false for a
/// delivery, from the first chunk received to the message delivered.
/// </summary>
public sealed record TransferEvent(bool Outgoing, string Manifest, long Bytes, int Chunks, Address Peer,
    DateTime StartedUtc, DateTime EndedUtc) : INoSerializationVerificationNeeded
{
    public TimeSpan Elapsed => EndedUtc - StartedUtc;
}

/// <summary>
/// Published on the sending node's event stream when the data plane gives up on a message (the
/// peer died, refused the connection or stopped reading): <paramref name="DroppedQueued"/> more
/// messages queued to that node were dropped with it.
/// </summary>
public sealed record TransferFailed(string Manifest, long Bytes, Address Peer, string Reason, int DroppedQueued) : INoSerializationVerificationNeeded;
