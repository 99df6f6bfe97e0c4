namespace RnnCluster.Transport;

/// <summary>
/// The large byte buffers one node's transfer layer serializes outgoing messages into and
/// reassembles incoming ones in, kept for the next message instead of allocated per message: a
/// new array lands in memory not yet touched, and on the 2-core bench VM every first touch of a
/// 4 KiB page costs about 12 us (a 50 MB message: ~150 ms per buffer).
/// <para>
/// Ownership: a rented buffer belongs to whoever rented it until it is returned; nothing else may
/// hold it then (a sent message's chunks are views of it, so it is returned only after the last
/// acknowledgement and never after a dropped transfer, see <see cref="SerializedPayload"/>;
/// deserialized messages copy their tensors out). A buffer never
/// returned (a transfer dropped on a path that forgets it) is simply collected: the pool only
/// saves allocations, it is not needed for correctness. Buffers up to
/// <see cref="SmallestPooled"/> bytes are not kept (gen0 allocations are cheap); at most
/// <see cref="MaxRetained"/> are kept, so memory stays bounded. Rent and Return are thread-safe:
/// senders serialize on their own threads, the transfer actor returns.
/// </para>
/// </summary>
internal sealed class TransferBuffers(int smallestPooled, int maxRetained)
{
    private readonly object _gate = new();
    private readonly List<byte[]> _free = [];

    public int SmallestPooled { get; } = smallestPooled;

    public int MaxRetained { get; } = maxRetained;

    /// <summary>Buffers kept now, for tests.</summary>
    public int Retained
    {
        get
        {
            lock (_gate) return _free.Count;
        }
    }

    /// <summary>A buffer of at least <paramref name="length"/> bytes: the smallest kept one that fits, else a new exact one.</summary>
    public byte[] Rent(int length)
    {
        if (length > SmallestPooled)
        {
            lock (_gate)
            {
                int best = -1;
                for (int i = 0; i < _free.Count; i++)
                    if (_free[i].Length >= length && (best < 0 || _free[i].Length < _free[best].Length))
                        best = i;
                if (best >= 0)
                {
                    var buffer = _free[best];
                    _free.RemoveAt(best);
                    return buffer;
                }
            }
        }
        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Gives <paramref name="buffer"/> back; the caller must not touch it afterwards. The oldest kept buffer makes room.</summary>
    public void Return(byte[] buffer)
    {
        if (buffer.Length <= SmallestPooled) return;
        lock (_gate)
        {
            if (_free.Contains(buffer)) throw new InvalidOperationException("a transfer buffer was returned twice");
            if (_free.Count >= MaxRetained) _free.RemoveAt(0);
            _free.Add(buffer);
        }
    }
}

/// <summary>
/// A serialized message's bytes (the first <see cref="Length"/> of a <see cref="TransferBuffers"/>
/// buffer) shared by every destination it goes to; the buffer goes back to the pool when the last
/// destination is done with it (sent, or dropped). Released only on the transfer actor's thread,
/// but counted with Interlocked so the rule needs no proof.
/// </summary>
internal sealed class SerializedPayload(TransferBuffers pool, byte[] bytes, int length, int holders)
{
    private int _holders = holders;

    public byte[] Bytes { get; } = bytes;

    public int Length { get; } = length;

    private bool _abandoned;

    /// <summary>One destination is done with the bytes (its last chunk acknowledged, or it was sent whole).</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _holders);
        if (left == 0 && !Volatile.Read(ref _abandoned)) pool.Return(Bytes);
        else if (left < 0) throw new InvalidOperationException("a serialized payload was released more often than it was shared");
    }

    /// <summary>
    /// One destination dropped its transfer, possibly with chunks (views of these bytes) still
    /// queued in remoting: the buffer is left to the garbage collector instead of going back to the pool.
    /// </summary>
    public void Abandon()
    {
        Volatile.Write(ref _abandoned, true);
        Release();
    }
}
