namespace RnnCluster.Model;

/// <summary>
/// Which rows make up each batch of an epoch, shared by <see cref="Sequential.Fit"/> and the
/// distributed coordinator so that both see the same batches. Stateful training keeps the data's
/// order (row i of batch k continues as row i of batch k+1) and needs whole batches.
/// </summary>
public sealed class BatchPlan
{
    public BatchPlan(int rows, int batchSize, bool shuffle, bool stateful, int seed)
    {
        if (batchSize < 1) throw new ModelException($"batch size must be at least 1, got {batchSize}");
        if (rows < 1) throw new ModelException("no training rows");
        if (stateful && shuffle) throw new ModelException("stateful training keeps the row order: shuffle must be off");
        if (stateful && rows % batchSize != 0)
            throw new ModelException($"stateful training needs whole batches: {rows} rows is not a multiple of batch size {batchSize}");
        Rows = rows;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
    }

    public int Rows { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public int Seed { get; }

    public int BatchesPerEpoch => (Rows + BatchSize - 1) / BatchSize;

    /// <summary>The epoch's row order: identity, or a Fisher-Yates shuffle seeded by (seed, epoch).</summary>
    public int[] Order(int epoch)
    {
        var order = new int[Rows];
        for (int i = 0; i < Rows; i++) order[i] = i;
        if (!Shuffle) return order;
        var random = new Random(unchecked(Seed * 7919 + epoch));
        for (int i = Rows - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Rows of batch <paramref name="index"/> within an epoch's order (the last one may be short).</summary>
    public ReadOnlySpan<int> Batch(int[] order, int index)
    {
        int start = index * BatchSize;
        return order.AsSpan(start, Math.Min(BatchSize, Rows - start));
    }
}
