using RnnCluster.Model;

namespace RnnCluster.Protocol;

// The coordinator <-> worker conversation: registration, replicas, shards and their results.

/// <summary>A worker announces itself to the coordinator (and again after a coordinator restart).</summary>
public sealed record RegisterWorker(string WorkerName) : IProtocolMessage;

public sealed record WorkerRegistered(int LiveWorkers) : IProtocolMessage;

/// <summary>Creates (or replaces) the job's model replica on a worker.</summary>
public sealed record LoadReplica(string JobId, string ModelJson, string Loss, bool FromLogits) : IProtocolMessage;

/// <summary>
/// The job's weights at a version; every later shard of the job names the version it needs.
/// Between actors in one process the tensor is not copied: it is the job's send buffer, which the
/// job writes again for a later version once every worker it went to has answered a later shard.
/// A worker copies the weights into its replica while handling this message and keeps no reference;
/// it then recycles the tensor (Transfer.Recycle), so weights from another node land in the array
/// the previous ones came in.
/// </summary>
public sealed record ReplicaWeights(string JobId, long Version, Tensor Parameters) : IProtocolMessage;

/// <summary>Drops a finished job's replica.</summary>
public sealed record DropReplica(string JobId) : IProtocolMessage;

/// <summary>
/// Rows [RowStart, RowStart + X.Shape[0]) of step <paramref name="Step"/>'s global batch, with
/// their initial states (one tensor per state slot; empty: zeros). <paramref name="ShardId"/> is
/// unique per dispatch, so a late or duplicate result cannot be mistaken for a current one.
/// Always a training step: validation runs through <see cref="PredictOnReplica"/>.
/// Between actors in one process the tensors are not copied: they are the job's buffers, filled
/// again for a later step once this shard is answered, so a worker reads them only while it
/// computes the shard.
/// </summary>
public sealed record ComputeShard(string JobId, long Step, long ShardId, int RowStart, long WeightsVersion,
    Tensor X, Tensor Y, IReadOnlyList<Tensor> InitialStates) : IProtocolMessage;

/// <summary>
/// Loss sum, gradient sums and final states of a shard's rows.
/// Between actors in one process the tensors are not copied: they are the worker's buffers, which
/// it writes again when it computes its next shard of the job, so the job reads (or copies) them
/// before it sends that worker another shard. Once it has summed the gradients the job recycles
/// them (Transfer.Recycle): an array that came from another node takes a later result.
/// </summary>
public sealed record ShardResult(string JobId, long Step, long ShardId, int Rows, double LossSum,
    Tensor GradientSum, IReadOnlyList<Tensor> FinalStates) : IProtocolMessage;

public sealed record ShardFailed(string JobId, long Step, long ShardId, string Reason) : IProtocolMessage;

/// <summary>Prediction on a worker's replica at a weights version; the worker replies to <paramref name="ReplyTo"/>.</summary>
public sealed record PredictOnReplica(string JobId, long WeightsVersion, Tensor X, IReadOnlyList<Tensor> InitialStates, Akka.Actor.IActorRef ReplyTo) : IProtocolMessage;
