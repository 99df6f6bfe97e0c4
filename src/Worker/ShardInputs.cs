using RnnCluster.Model;

namespace RnnCluster.Worker;

/// <summary>One shard's inputs: x, y and its rows' initial states (none: zeros).</summary>
public sealed record ShardInput(Tensor X, Tensor Y, Tensor[] States);

/// <summary>
/// A node's buffers for the inputs of its shards of a step, one set per (shard index, row count),
/// gathered from the job's data set for every block instead of allocated: a new multi-megabyte array per step lands in memory
/// not yet touched, and on the 2-core bench VM every first touch of a 4 KiB page costs about
/// 12 us (a (256, 50, 64) batch: 10 ms to gather into a new array, 0.2 ms into a reused one).
/// <para>
/// The node's compute actors get the buffers themselves (a local message) and read them only while
/// they compute the shard. So the node fills a set again only for its next block, when every
/// shard of the previous one has been answered; a block that replaces one still being computed (a
/// step dispatched again because a node left) takes new buffers (<see cref="Discard"/>), since
/// the compute actors may still be reading the first one's.
/// </para>
/// </summary>
/// <param name="x">The job's inputs, (rows, T, D): the shape of the x buffers.</param>
/// <param name="y">The job's targets: the shape of the y buffers.</param>
/// <param name="stateUnits">Units of each state slot when shards carry initial states; empty when they start from zeros.</param>
public sealed class ShardInputs(Tensor x, Tensor y, IReadOnlyList<int> stateUnits)
{
    // Keyed by row count too: the short last batch of an epoch keeps its own buffers instead of
    // replacing the full batches' twice per epoch.
    private readonly Dictionary<(int Shard, int Rows), ShardInput> _buffers = [];

    /// <summary>The buffers of shard <paramref name="shard"/> of a dispatch, for <paramref name="rows"/> rows; their contents are the caller's to overwrite.</summary>
    public ShardInput For(int shard, int rows)
    {
        if (!_buffers.TryGetValue((shard, rows), out var input))
        {
            input = new ShardInput(Rows.Empty(x, rows), Rows.Empty(y, rows), [.. stateUnits.Select(units => Tensor.Zeros(rows, units))]);
            _buffers[(shard, rows)] = input;
        }
        return input;
    }

    /// <summary>Forgets every buffer (they stay with whoever still reads them); the next <see cref="For"/> allocates.</summary>
    public void Discard() => _buffers.Clear();
}
