using System.Runtime.CompilerServices;

namespace RnnCluster.Transport;

/// <summary>
/// The float arrays one node's transfer layer deserializes large received tensors into, lent to
/// the receiving actor and reused once it hands them back through <see cref="Transfer.Recycle"/>:
/// a fresh 50 MB array costs ~150 ms of first-touch page faults on the bench VM, on the transfer
/// actor's thread, where it delays every other incoming chunk.
/// <para>
/// Ownership: a lent array belongs to the receiver until it recycles it; after that the receiver
/// must not touch it (the next received tensor of that length is written into it). Recycling an
/// array this pool did not lend (a local message carries the sender's own arrays) or one already
/// recycled does nothing, so a receiver can recycle what it got without asking where it came from.
/// An array never recycled is simply collected (lent arrays are tracked weakly). Only arrays of at
/// least <see cref="SmallestPooled"/> floats are lent and at most <see cref="MaxRetained"/> kept;
/// thread-safe (the transfer actor rents, receiving actors recycle).
/// </para>
/// </summary>
internal sealed class ReceivedTensorArrays(int smallestPooled, int maxRetained)
{
    private readonly object _gate = new();
    private readonly List<float[]> _free = [];
    private readonly ConditionalWeakTable<float[], object> _lent = [];

    public int SmallestPooled { get; } = smallestPooled;

    public int MaxRetained { get; } = maxRetained;

    /// <summary>Arrays kept for reuse now, for tests.</summary>
    public int Retained
    {
        get
        {
            lock (_gate) return _free.Count;
        }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats (a tensor's data must match its shape), reused when one is kept.</summary>
    public float[] Rent(int length)
    {
        if (length < SmallestPooled) return GC.AllocateUninitializedArray<float>(length);
        lock (_gate)
        {
            int index = _free.FindIndex(a => a.Length == length);
            var array = index >= 0 ? _free[index] : GC.AllocateUninitializedArray<float>(length);
            if (index >= 0) _free.RemoveAt(index);
            _lent.AddOrUpdate(array, _gate);
            return array;
        }
    }

    /// <summary>Takes back an array this pool lent; ignores any other. The oldest kept array makes room.</summary>
    public void Recycle(float[] array)
    {
        lock (_gate)
        {
            if (!_lent.Remove(array)) return;
            if (_free.Count >= MaxRetained) _free.RemoveAt(0);
            _free.Add(array);
        }
    }
}
