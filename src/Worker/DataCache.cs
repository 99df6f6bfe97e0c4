using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Worker;

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
