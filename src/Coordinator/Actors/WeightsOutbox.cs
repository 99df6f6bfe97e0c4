using Akka.Actor;
using RnnCluster.Model;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// The buffer a job's weights travel to its workers in (<see cref="Protocol.ReplicaWeights"/>),
/// written again for each new version instead of a new copy of the weights per step: a new
/// array lands in memory not yet touched, and on the 2-core bench VM every first touch of a
/// 4 KiB page costs about 12 us (1.2 MB of weights: ~3.5 ms per step).
/// <para>
/// Workers in this process get the buffer itself (a local message is not serialized) and copy
/// the weights into their replica while handling the message, so the buffer may be written again
/// once every worker it went to has handled it. Messages from the job to a worker arrive in
/// order, so the worker's answer to a shard sent after the weights proves that
/// (<see cref="Answered"/>). While some worker has not answered since (one that got no shard
/// because the batch has fewer rows than there are workers, or one that left), the next weights
/// go in a new buffer.
/// </para>
/// </summary>
internal sealed class WeightsOutbox
{
    private readonly HashSet<IActorRef> _unanswered = [];
    private float[] _buffer = [];

    /// <summary>
    /// <paramref name="weights"/> copied for sending to <paramref name="workers"/>: into the reused
    /// buffer when every earlier recipient has answered since, else into a new one.
    /// </summary>
    public Tensor Prepare(ReadOnlySpan<float> weights, IEnumerable<IActorRef> workers)
    {
        if (_unanswered.Count > 0 || _buffer.Length != weights.Length) _buffer = new float[weights.Length];
        weights.CopyTo(_buffer);
        _unanswered.Clear();
        _unanswered.UnionWith(workers);
        return new Tensor(_buffer, _buffer.Length);
    }

    /// <summary><paramref name="worker"/> answered a shard sent after the last weights: it is done with the buffer.</summary>
    public void Answered(IActorRef worker) => _unanswered.Remove(worker);
}
