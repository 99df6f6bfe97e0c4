using RnnCluster.Model;

namespace RnnCluster.Worker;

/// <summary>
/// A replica's buffers for what a shard returns (gradient sums, final states), written again for
/// every shard instead of allocated: a new multi-megabyte array per shard lands in memory not yet
/// touched, and on the 2-core bench VM every first touch of a 4 KiB page costs about 12 us
/// (a 1.2 MB gradient: ~3.5 ms per step, on the step's critical path).
/// The <see cref="Protocol.ShardResult"/> carries these arrays; between actors in one process they
/// are not copied, so the job reads them before it sends this worker the next shard, the only
/// thing that writes them again (see <see cref="Protocol.ShardResult"/>).
/// </summary>
public sealed class ShardOutputs(int parameterCount, IReadOnlyList<StateSlot> stateSlots)
{
    private Tensor[] _finalStates = [];

    public float[] Gradients { get; } = new float[parameterCount];

    /// <summary>Final-state buffers for a shard of <paramref name="rows"/> rows, one (rows, units) tensor per state slot.</summary>
    public Tensor[] FinalStates(int rows)
    {
        // A row count other than the last one's is the short last batch of an epoch or a change
        // in the number of workers: rare enough to allocate for.
        if (_finalStates.Length != stateSlots.Count || (_finalStates.Length > 0 && _finalStates[0].Shape[0] != rows))
            _finalStates = [.. stateSlots.Select(s => Tensor.Zeros(rows, s.Units))];
        return _finalStates;
    }
}
