using Akka.Actor;
using RnnCluster.Model;

namespace RnnCluster.Protocol;

// The coordinator <-> node conversation: registration, replicas, the job's data, blocks and their
// results. A node is one worker process (or local mode's one in-process node) with Workers compute
// actors; the coordinator talks to nodes only, never to their compute actors.

/// <summary>A node with <paramref name="Workers"/> compute actors announces itself (and again after a coordinator restart).</summary>
public sealed record RegisterWorker(string WorkerName, int Workers) : IProtocolMessage;

/// <summary><paramref name="LiveWorkers"/>: compute actors over all live nodes.</summary>
public sealed record WorkerRegistered(int LiveWorkers) : IProtocolMessage;

/// <summary>
/// Creates (or replaces) the job's model replica on a node. The job's data set has content hash
/// <paramref name="DataHash"/> (<c>DatasetHash</c>): a node that does not hold it answers
/// <see cref="NeedJobData"/>, and computes the job's blocks only once it has the data.
/// </summary>
public sealed record LoadReplica(string JobId, string ModelJson, string Loss, bool FromLogits, string DataHash) : IProtocolMessage;

/// <summary>The node does not hold the data set <paramref name="DataHash"/> of the job: send it (<see cref="JobData"/>).</summary>
public sealed record NeedJobData(string JobId, string DataHash) : IProtocolMessage;

/// <summary>The job's whole data set, sent once per node (a node keeps it by content hash, across jobs and rejoins).</summary>
public sealed record JobData(string JobId, string DataHash, Tensor X, Tensor Y, IReadOnlyList<Tensor> InitialStates) : IProtocolMessage;

/// <summary>
/// The job's weights at a version; every later block of the job names the version it needs.
/// <paramref name="Tree"/> lists the job's nodes (empty: this message is for its recipient only)
/// and <paramref name="Parents"/>[i] the index of node i's parent (-1: the coordinator). A node
/// finds itself in the list and passes the message on to its children, in index order, before it
/// takes the weights itself, so the weights travel down the tree and the coordinator sends one copy
/// per child of its own.
/// Between actors in one process the tensor is not copied: it is the job's send buffer, which the
/// job writes again for a later version once every node it went to has answered a later block.
/// A node copies the weights while handling this message and keeps no reference; it then recycles
/// the tensor (Transfer.Recycle), so weights from another node land in the array the previous ones came in.
/// </summary>
public sealed record ReplicaWeights(string JobId, long Version, Tensor Parameters, IReadOnlyList<IActorRef> Tree, IReadOnlyList<int> Parents)
    : IProtocolMessage
{
    public ReplicaWeights(string jobId, long version, Tensor parameters) : this(jobId, version, parameters, [], []) { }
}

/// <summary>Drops a finished job's replica.</summary>
public sealed record DropReplica(string JobId) : IProtocolMessage;

/// <summary>
/// A node's block of step <paramref name="Step"/>: the global batch's rows at positions
/// [RowStart, RowStart + Rows.Length), given as row indices into the job's data set
/// (<paramref name="Rows"/>), with their initial states (one (rows, units) tensor per state slot;
/// empty: zeros). The node cuts the block into shards of <paramref name="ShardSizes"/> rows, one per
/// compute actor, in order, adds their sums in that order, then adds the results of its children
/// in the tree (the blocks <paramref name="ChildShards"/>, in that order; their rows follow its own
/// in the batch), and sends one <see cref="ShardResult"/> for the whole subtree to
/// <paramref name="ReplyTo"/> (its parent node, or the job). <paramref name="ShardId"/> is unique
/// per dispatch, so a late or duplicate result cannot be mistaken for a current one.
/// </summary>
public sealed record ComputeBlock(string JobId, long Step, long ShardId, int RowStart, long WeightsVersion, IReadOnlyList<int> Rows,
    IReadOnlyList<Tensor> InitialStates, IReadOnlyList<int> ShardSizes, IActorRef ReplyTo, IReadOnlyList<long> ChildShards) : IProtocolMessage;

/// <summary>
/// Loss sum, gradient sums and final states of a block's subtree: <paramref name="Rows"/> rows of
/// the batch from the block's RowStart on (the node's own rows, then each child's subtree).
/// Between actors in one process the tensors are not copied: they are the node's buffers, which it
/// writes again when it computes its next block of the job, so the job reads (or copies) them
/// before it sends that node another block. Once it has summed the gradients the receiver
/// recycles them (Transfer.Recycle): an array that came from another node takes a later result.
/// </summary>
public sealed record ShardResult(string JobId, long Step, long ShardId, int Rows, double LossSum,
    Tensor GradientSum, IReadOnlyList<Tensor> FinalStates) : IProtocolMessage;

public sealed record ShardFailed(string JobId, long Step, long ShardId, string Reason) : IProtocolMessage;

/// <summary>Prediction on a node's replica at a weights version; the node replies to <paramref name="ReplyTo"/>.</summary>
public sealed record PredictOnReplica(string JobId, long WeightsVersion, Tensor X, IReadOnlyList<Tensor> InitialStates, IActorRef ReplyTo) : IProtocolMessage;

/// <summary>
/// Prediction on a node's replica for rows [RowStart, RowStart + Count) of the job's data set, which
/// the node holds (validation after each epoch: no inputs travel); with the data set's own initial
/// states when <paramref name="DataStates"/>, else zeros. The node replies <see cref="PredictResult"/>
/// (or <see cref="RequestFailed"/>) to <paramref name="ReplyTo"/>.
/// </summary>
public sealed record PredictRows(string JobId, long WeightsVersion, int RowStart, int Count, bool DataStates, IActorRef ReplyTo) : IProtocolMessage;
