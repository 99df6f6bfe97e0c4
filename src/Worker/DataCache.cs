using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Worker;

/// <summary>The content hash a job's data set is known by on every node: SHA-256 over the shapes and float32 bytes of x, y and the initial states.</summary>
public static class DatasetHash
{
    public static string Of(Tensor x, Tensor y, IReadOnlyList<Tensor> initialStates)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(sha, x);
        Add(sha, y);
        AddInt(sha, initialStates.Count);
        foreach (var s in initialStates) Add(sha, s);
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void Add(IncrementalHash sha, Tensor t)
    {
        AddInt(sha, t.Shape.Length);
        foreach (var d in t.Shape) AddInt(sha, d);
        sha.AppendData(MemoryMarshal.AsBytes(t.Data.AsSpan()));
    }

    private static void AddInt(IncrementalHash sha, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        sha.AppendData(bytes);
    }

    public static string Of(Dataset data) => Of(data.X, data.Y, data.InitialStates);
}

/// <summary>
/// A node's data sets by content hash, kept while a job of the node uses them and, beyond that,
/// the <see cref="Spare"/> most recently used others: a job started again with the same data, or
/// the node's jobs after it was unreachable for a while, find the data here instead of asking for
/// it again. A data set whose last job released its replica (<c>DropReplica</c>) is removed
/// (<see cref="Remove"/>): ended jobs leave no data behind. Only the node actor uses it (no locking).
/// </summary>
public sealed class DataCache(int spare = 2)
{
    private readonly Dictionary<string, Dataset> _byHash = [];
    private readonly List<string> _recent = [];

    public int Spare { get; } = spare;

    public int Count => _byHash.Count;

    public bool TryGet(string hash, out Dataset data)
    {
        if (!_byHash.TryGetValue(hash, out data!)) return false;
        Touch(hash);
        return true;
    }

    /// <summary>Keeps <paramref name="data"/> under <paramref name="hash"/>; drops the least recently used data sets no job in <paramref name="inUse"/> needs beyond <see cref="Spare"/>.</summary>
    public void Add(string hash, Dataset data, IReadOnlySet<string> inUse)
    {
        _byHash[hash] = data;
        Touch(hash);
        var idle = _recent.Where(h => !inUse.Contains(h) && h != hash).ToList();
        foreach (var old in idle.Take(Math.Max(0, idle.Count - Spare)))
        {
            _byHash.Remove(old);
            _recent.Remove(old);
        }
    }

    /// <summary>
    /// Forgets the data set under <paramref name="hash"/> (the last job of the node that used it
    /// released its replica): an ended job's data does not outlive it on the node.
    /// </summary>
    public bool Remove(string hash)
    {
        _recent.Remove(hash);
        return _byHash.Remove(hash);
    }

    private void Touch(string hash)
    {
        _recent.Remove(hash);
        _recent.Add(hash);
    }
}
