using Akka.Actor;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Worker;

// The node <-> compute actor conversation: local messages only, never serialized (the node and its
// compute actors share one process, one copy of the weights and one copy of the data set).

/// <summary>Builds (or replaces) the job's model replica: a network with its own buffers, for this compute actor alone.</summary>
internal sealed record LoadModel(string JobId, string ModelJson, string Loss, bool FromLogits) : INoSerializationVerificationNeeded;

internal sealed record DropModel(string JobId) : INoSerializationVerificationNeeded;

/// <summary>
/// Shard <paramref name="Index"/> of the node's block <paramref name="ShardId"/>. <paramref name="Weights"/>
/// is the node's one copy of the job's weights and X, Y, States are the node's input buffers: all
/// read only while computing, never kept.
/// </summary>
internal sealed record ComputeTask(string JobId, long ShardId, int Index, float[] Weights, Tensor X, Tensor Y, IReadOnlyList<Tensor> States)
    : INoSerializationVerificationNeeded;

/// <summary>A shard's sums, in the compute actor's buffers (written again only by its next task of the job).</summary>
internal sealed record TaskDone(string JobId, long ShardId, int Index, ShardSums Sums) : INoSerializationVerificationNeeded;

internal sealed record TaskFailed(string JobId, long ShardId, int Index, string Reason) : INoSerializationVerificationNeeded;

/// <summary>A prediction with a copy of the weights (predictions may overlap a weights update); the result goes to <paramref name="ReplyTo"/>.</summary>
internal sealed record PredictTask(string JobId, float[] Weights, Tensor X, IReadOnlyList<Tensor> States, IActorRef ReplyTo)
    : INoSerializationVerificationNeeded;

/// <summary>
/// One compute actor of a node: holds a model replica per job (network and output buffers, not
/// the weights: those are the node's) and computes the shards the node gives it with the engine's
/// pure function <see cref="ShardMath"/>. It runs on its own pinned dispatcher (one thread,
/// sequential MKL), so a long shard never blocks other actors' threads; messages that arrive
/// meanwhile wait in its mailbox, in order.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly IMathKernels _kernels;
    private readonly Dictionary<string, Replica> _replicas = [];
    // Why a job's replica could not be built, for the shards that then fail.
    private readonly Dictionary<string, string> _broken = [];

    private sealed class Replica(GradientComputer computer)
    {
        public GradientComputer Computer { get; } = computer;

        /// <summary>Where shards' gradients and final states are written, shard after shard.</summary>
        public ShardOutputs Outputs { get; } = new(computer.Network.ParameterCount, computer.Network.StateSlots);
    }

    // Communication benchmark only (rnncluster.bench.fixed-compute): a sleep and zero sums instead of the math.
    private readonly TimeSpan _fixedCompute;

    public WorkerActor(IMathKernels kernels, TimeSpan fixedCompute = default)
    {
        _kernels = kernels;
        _fixedCompute = fixedCompute;
        Receive<LoadModel>(Load);
        Receive<DropModel>(d =>
        {
            _replicas.Remove(d.JobId);
            _broken.Remove(d.JobId);
        });
        Receive<ComputeTask>(Compute);
        Receive<PredictTask>(Predict);
    }

    public static Props Props(IMathKernels kernels, TimeSpan fixedCompute = default) =>
        Akka.Actor.Props.Create(() => new WorkerActor(kernels, fixedCompute)).WithDispatcher(AkkaConfig.WorkerDispatcher);

    private void Load(LoadModel load)
    {
        _replicas.Remove(load.JobId);
        _broken.Remove(load.JobId);
        try
        {
            var spec = ModelSpec.FromJson(load.ModelJson, $"job {load.JobId} model");
            var network = new Network(spec, _kernels);
            _replicas[load.JobId] = new Replica(new GradientComputer(network, Losses.Parse(load.Loss, load.FromLogits)));
        }
        catch (ModelException e)
        {
            _broken[load.JobId] = $"cannot build the model replica: {e.Message}";
        }
    }

    private void Compute(ComputeTask task)
    {
        if (!TryReplica(task.JobId, out var replica, out var problem))
        {
            Sender.Tell(new TaskFailed(task.JobId, task.ShardId, task.Index, problem));
            return;
        }
        try
        {
            var sums = _fixedCompute > TimeSpan.Zero
                ? FixedCompute(replica, task)
                : ShardMath.Compute(replica.Computer, task.Weights, task.X, task.Y, task.States, replica.Outputs, $"shard {task.ShardId}.{task.Index}");
            Sender.Tell(new TaskDone(task.JobId, task.ShardId, task.Index, sums));
        }
        catch (Exception e)
        {
            Sender.Tell(new TaskFailed(task.JobId, task.ShardId, task.Index, $"{Self.Path.Parent.Name}/{Self.Path.Name}: {e.Message}"));
        }
    }

    /// <summary>The communication benchmark's stand-in for the math: a fixed sleep, zero gradients and states of the right sizes.</summary>
    private ShardSums FixedCompute(Replica replica, ComputeTask task)
    {
        Thread.Sleep(_fixedCompute);
        int rows = task.X.Shape[0];
        Array.Clear(replica.Outputs.Gradients);
        var finals = replica.Outputs.FinalStates(rows);
        foreach (var f in finals) Array.Clear(f.Data);
        return new ShardSums(rows, 0, replica.Outputs.Gradients, finals);
    }

    private void Predict(PredictTask task)
    {
        if (!TryReplica(task.JobId, out var replica, out var problem))
        {
            _transfer.Tell(task.ReplyTo, new RequestFailed(problem), Self);
            return;
        }
        try
        {
            _transfer.Tell(task.ReplyTo, ShardMath.Predict(replica.Computer.Network, task.Weights, task.JobId, task.X, task.States), Self);
        }
        catch (Exception e)
        {
            _transfer.Tell(task.ReplyTo, new RequestFailed($"predict: {e.Message}"), Self);
        }
    }

    private bool TryReplica(string jobId, out Replica replica, out string problem)
    {
        problem = "";
        if (_replicas.TryGetValue(jobId, out replica!)) return true;
        problem = _broken.TryGetValue(jobId, out var why) ? $"job {jobId}: {why}" : $"{Self.Path.Name} has no model replica for job {jobId}";
        return false;
    }
}
