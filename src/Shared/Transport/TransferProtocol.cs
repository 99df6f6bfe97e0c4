using RnnCluster.Protocol;

namespace RnnCluster.Transport;

// The transfer actor <-> transfer actor conversation: one large protocol message cut into chunks.

/// <summary>
/// Chunk <paramref name="Index"/> of <paramref name="Count"/> of a serialized protocol message
/// (<paramref name="TotalBytes"/> long, ProtocolSerializer manifest <paramref name="Manifest"/>),
/// sent from one node's transfer actor to another's. Every chunk repeats the small header
/// (serialized target and sender paths, manifest), so a chunk never depends on state the receiver
/// may have dropped. <paramref name="SenderPath"/> is empty for no sender.
/// Reply: <see cref="TransferAck"/> for each chunk, sent after the last one is delivered.
/// <para>
/// <paramref name="Data"/> is a view, not a copy, on both sides: a 64 KiB array per chunk and
/// side lands in memory not yet touched (about 12 us per 4 KiB page on the bench VM), which
/// made allocation the bottleneck of a transfer. The sender's view is a slice of the message's
/// serialized payload, whose buffer is reused only after the last chunk is acknowledged (so
/// remoting has written every chunk) and never after a dropped transfer; the receiver's is a
/// slice of the array remoting deserialized the chunk from, which belongs to this chunk alone.
/// </para>
/// </summary>
public sealed record TransferChunk(long TransferId, int Index, int Count, int TotalBytes,
    string TargetPath, string SenderPath, string Manifest, ReadOnlyMemory<byte> Data) : IProtocolMessage;

/// <summary>The receiver holds chunks 0..<paramref name="Index"/> of a transfer (the last one: it delivered the message).</summary>
public sealed record TransferAck(long TransferId, int Index) : IProtocolMessage;

// The transfer actor <-> transfer actor conversation on the control plane about the data plane.

/// <summary>Which port does your data plane listen on? Reply: <see cref="DataPlaneAddress"/>.</summary>
public sealed record DataPlaneQuery : IProtocolMessage
{
    public static readonly DataPlaneQuery Instance = new();
}

/// <summary>The node's data plane listens on <paramref name="Port"/> at the host of its Akka address.</summary>
public sealed record DataPlaneAddress(int Port) : IProtocolMessage;
