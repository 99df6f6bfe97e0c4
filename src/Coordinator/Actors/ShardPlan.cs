namespace RnnCluster.Coordinator.Actors;

/// <summary>Contiguous row ranges [Start, Start + Count) covering [0, rows) exactly once.</summary>
public readonly record struct RowRange(int Start, int Count);

public static class ShardPlan
{
    /// <summary>
    /// Cuts <paramref name="rows"/> into at most <paramref name="workers"/> contiguous shards whose
    /// sizes differ by at most one (the first shards take the extra rows); never an empty shard.
    /// </summary>
    public static RowRange[] Cut(int rows, int workers)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "a batch needs at least one row");
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker is needed");
        int shards = Math.Min(rows, workers);
        int size = rows / shards, extra = rows % shards;
        var ranges = new RowRange[shards];
        int start = 0;
        for (int i = 0; i < shards; i++)
        {
            int count = size + (i < extra ? 1 : 0);
            ranges[i] = new RowRange(start, count);
            start += count;
        }
        return ranges;
    }
}
