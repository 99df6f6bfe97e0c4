using Akka.Actor;
using Akka.Event;
using RnnCluster.Protocol;

namespace RnnCluster.Transport;

/// <summary>
/// One per node (<c>/system/rnncluster-transfer</c>, started by <see cref="Transfer.For"/>).
/// Sending: one FIFO queue per destination node; the head of a queue is either sent at once (a
/// small message: plain remote Tell) or cut into chunks, at most a window of them unacknowledged;
/// the next message starts when the destination has acknowledged (delivered) the last chunk.
/// Receiving: chunks of one transfer arrive in order on the one connection between two nodes; they
/// are copied into a reassembly buffer of at least the announced size (rented from the node's
/// <see cref="TransferBuffers"/>), acknowledged one by one, and the last one deserializes and
/// delivers the message to its target as from its original sender. The buffer goes back to the
/// pool as soon as the message is deserialized (the message copies its tensors out) or the
/// transfer is dropped.
/// </summary>
internal sealed class TransferActor : ReceiveActor, IWithTimers
{
    private sealed record Tick : INoSerializationVerificationNeeded
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>A message being chunked to one destination.</summary>
    private sealed class Sending(Outgoing message, long id, int count)
    {
        public Outgoing Message { get; } = message;
        public long Id { get; } = id;
        public int Count { get; } = count;
        public int NextToSend { get; set; }
        public int Acked { get; set; } = -1;
        public DateTime Started { get; } = DateTime.UtcNow;
        public DateTime LastProgress { get; set; } = DateTime.UtcNow;
    }

    private sealed class Destination(IActorRef peer)
    {
        public IActorRef Peer { get; } = peer;
        public Queue<object> Pending { get; } = new();
        public Sending? Current { get; set; }
    }

    private sealed class Assembly(byte[] buffer, int length, int count, string targetPath, string senderPath, string manifest)
    {
        public byte[] Buffer { get; } = buffer;
        public int Length { get; } = length;
        public int Count { get; } = count;
        public string TargetPath { get; } = targetPath;
        public string SenderPath { get; } = senderPath;
        public string Manifest { get; } = manifest;
        public int Next { get; set; }
        public int Offset { get; set; }
        public DateTime Started { get; } = DateTime.UtcNow;
        public DateTime LastProgress { get; set; } = DateTime.UtcNow;
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TransferSettings _settings;
    private readonly TransferBuffers _buffers;
    private readonly ReceivedTensorArrays _tensorArrays;
    private readonly ProtocolSerializer _serializer;
    private readonly Dictionary<Address, Destination> _destinations = [];
    private readonly Dictionary<(Address, long), Assembly> _incoming = [];
    private long _nextId;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>What an Ask through the transfer sends this actor once the data plane has the message itself.</summary>
    internal sealed record Sent : INoSerializationVerificationNeeded
    {
        public static readonly Sent Instance = new();
    }

    public TransferActor(TransferSettings settings, TransferBuffers buffers, ReceivedTensorArrays tensorArrays, int? dataPort)
    {
        _tensorArrays = tensorArrays;
        _settings = settings;
        _buffers = buffers;
        _serializer = (ProtocolSerializer)Context.System.Serialization.FindSerializerForType(typeof(TransferChunk));
        Receive<Outgoing>(o => Enqueue(o.Target.Path.Address, o));
        Receive<PlainSend>(p => Enqueue(p.Target.Path.Address, p));
        Receive<TransferAck>(OnAck);
        Receive<TransferChunk>(OnChunk);
        Receive<Tick>(_ => CheckTimeouts());
        Receive<Sent>(_ => { });
        // The control plane tells peers where this node's data plane listens.
        Receive<DataPlaneQuery>(_ =>
        {
            if (dataPort is { } port) Sender.Tell(new DataPlaneAddress(port));
            else _log.Warning("{0} asked for this node's data plane, but it sends in chunks over Akka (rnncluster.transfer.carrier = akka)", Sender.Path.Address);
        });
    }

    public static Props Props(TransferSettings settings, TransferBuffers buffers, ReceivedTensorArrays tensorArrays, int? dataPort) =>
        Akka.Actor.Props.Create(() => new TransferActor(settings, buffers, tensorArrays, dataPort)).WithDispatcher(Hosting.AkkaConfig.TransferDispatcher);

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("timeouts", Tick.Instance, TimeSpan.FromSeconds(1));

    // ------------------------------------------------------------------ sending

    private void Enqueue(Address address, object item)
    {
        if (!_destinations.TryGetValue(address, out var destination))
        {
            destination = new Destination(((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(Transfer.ActorPath(address)));
            _destinations[address] = destination;
        }
        destination.Pending.Enqueue(item);
        if (destination.Current is null) StartNext(destination);
    }

    /// <summary>Sends small messages at the head of the queue at once; starts the first large one.</summary>
    private void StartNext(Destination destination)
    {
        while (destination.Current is null && destination.Pending.TryDequeue(out var item))
        {
            switch (item)
            {
                case PlainSend p:
                    p.Target.Tell(p.Message, p.Sender);
                    break;
                case Outgoing o when o.Payload.Length <= _settings.ChunkSize:
                    o.Target.Tell(o.Message, o.Sender);
                    o.Payload.Release();
                    Publish(new TransferEvent(true, o.Manifest, o.Payload.Length, 0, o.Target.Path.Address, DateTime.UtcNow, DateTime.UtcNow));
                    break;
                case Outgoing o:
                    int count = (int)(((long)o.Payload.Length + _settings.ChunkSize - 1) / _settings.ChunkSize);
                    destination.Current = new Sending(o, ++_nextId, count);
                    SendWindow(destination);
                    break;
            }
        }
    }

    private void SendWindow(Destination destination)
    {
        var s = destination.Current!;
        var o = s.Message;
        while (s.NextToSend < s.Count && s.NextToSend - s.Acked <= _settings.Window)
        {
            int offset = s.NextToSend * _settings.ChunkSize;
            int length = Math.Min(_settings.ChunkSize, o.Payload.Length - offset);
            // A view, not a copy: remoting serializes the chunk later, on its own thread, so the payload's
            // buffer is reused only after the last acknowledgement (and never after a drop; see TransferChunk).
            destination.Peer.Tell(new TransferChunk(s.Id, s.NextToSend, s.Count, o.Payload.Length, o.TargetPath, o.SenderPath, o.Manifest,
                o.Payload.Bytes.AsMemory(offset, length)), Self);
            s.NextToSend++;
        }
    }

    private void OnAck(TransferAck ack)
    {
        if (!_destinations.TryGetValue(Sender.Path.Address, out var destination) || destination.Current is not { } s || s.Id != ack.TransferId)
        {
            _log.Debug("ignoring an acknowledgement of transfer {0} chunk {1} from {2}", ack.TransferId, ack.Index, Sender.Path.Address);
            return;
        }
        if (ack.Index <= s.Acked) return;
        s.Acked = ack.Index;
        s.LastProgress = DateTime.UtcNow;
        if (s.Acked == s.Count - 1)
        {
            destination.Current = null;
            s.Message.Payload.Release();
            Publish(new TransferEvent(true, s.Message.Manifest, s.Message.Payload.Length, s.Count, s.Message.Target.Path.Address, s.Started, DateTime.UtcNow));
            StartNext(destination);
        }
        else
        {
            SendWindow(destination);
        }
    }

    // ------------------------------------------------------------------ receiving

    private void OnChunk(TransferChunk chunk)
    {
        var key = (Sender.Path.Address, chunk.TransferId);
        if (chunk.Index == 0)
        {
            if (chunk.Count < 1 || chunk.TotalBytes < 0 || chunk.TotalBytes > Array.MaxLength)
            {
                _log.Error("dropping transfer {0} from {1}: {2} chunks, {3} bytes", chunk.TransferId, Sender.Path.Address, chunk.Count, chunk.TotalBytes);
                return;
            }
            // A sender that restarted its transfer ids must not leave the old buffer behind.
            if (_incoming.Remove(key, out var replaced)) _buffers.Return(replaced.Buffer);
            _incoming[key] = new Assembly(_buffers.Rent(chunk.TotalBytes), chunk.TotalBytes, chunk.Count, chunk.TargetPath, chunk.SenderPath, chunk.Manifest);
        }
        if (!_incoming.TryGetValue(key, out var a))
        {
            _log.Warning("chunk {0} of an unknown transfer {1} from {2} ignored", chunk.Index, chunk.TransferId, Sender.Path.Address);
            return;
        }
        if (chunk.Index != a.Next || chunk.Count != a.Count || a.Offset + chunk.Data.Length > a.Length)
        {
            _log.Error("transfer {0} of {1} from {2} is broken at chunk {3} (expected {4}); dropped", chunk.TransferId, a.Manifest, Sender.Path.Address, chunk.Index, a.Next);
            _incoming.Remove(key);
            _buffers.Return(a.Buffer);
            return;
        }
        chunk.Data.Span.CopyTo(a.Buffer.AsSpan(a.Offset));
        a.Offset += chunk.Data.Length;
        a.Next++;
        a.LastProgress = DateTime.UtcNow;
        if (a.Next == a.Count)
        {
            _incoming.Remove(key);
            Deliver(a, Sender.Path.Address);
            _buffers.Return(a.Buffer);
        }
        Sender.Tell(new TransferAck(chunk.TransferId, chunk.Index));
    }

    private void Deliver(Assembly a, Address from)
    {
        if (a.Offset != a.Length)
        {
            _log.Error("transfer of {0} from {1} ended after {2} of {3} bytes; dropped", a.Manifest, from, a.Offset, a.Length);
            return;
        }
        try
        {
            var system = ((ExtendedActorSystem)Context.System);
            // Straight from the reassembly buffer, which the message does not keep (its tensors are
            // copies, into arrays lent to the receiver: see Transfer.Recycle).
            var message = _serializer.FromBinary(a.Buffer, a.Length, a.Manifest, _tensorArrays.Rent);
            var target = system.Provider.ResolveActorRef(a.TargetPath);
            var sender = a.SenderPath.Length == 0 ? ActorRefs.NoSender : system.Provider.ResolveActorRef(a.SenderPath);
            target.Tell(message, sender);
            Publish(new TransferEvent(false, a.Manifest, a.Length, a.Count, from, a.Started, DateTime.UtcNow));
        }
        catch (Exception e)
        {
            _log.Error(e, "cannot deliver a {0} of {1} bytes from {2}", a.Manifest, a.Length, from);
        }
    }

    // ------------------------------------------------------------------ timeouts

    private void CheckTimeouts()
    {
        var now = DateTime.UtcNow;
        foreach (var (address, destination) in _destinations)
        {
            if (destination.Current is not { } s || now - s.LastProgress < _settings.Timeout) continue;
            _log.Warning($"{address} stopped acknowledging a {s.Message.Manifest} of {s.Message.Payload.Length} bytes ({s.Acked + 1} of {s.Count} chunks) for {_settings.Timeout.TotalSeconds:0} s; dropping it and {destination.Pending.Count} queued message(s) to that node");
            destination.Current = null;
            // Chunks of it may still wait in remoting's queue: its buffer must not be reused.
            s.Message.Payload.Abandon();
            foreach (var item in destination.Pending)
                if (item is Outgoing o) o.Payload.Release();
            destination.Pending.Clear();
        }
        foreach (var (key, a) in _incoming.Where(kv => now - kv.Value.LastProgress > _settings.Timeout).ToList())
        {
            _log.Warning("a {0} from {1} stalled after {2} of {3} chunks; dropped", a.Manifest, key.Item1, a.Next, a.Count);
            _incoming.Remove(key);
            _buffers.Return(a.Buffer);
        }
        // Forget idle destinations, so a departed node's entry does not live forever.
        foreach (var address in _destinations.Where(kv => kv.Value.Current is null && kv.Value.Pending.Count == 0).Select(kv => kv.Key).ToList())
            _destinations.Remove(address);
    }

    private void Publish(TransferEvent e) => Context.System.EventStream.Publish(e);
}
