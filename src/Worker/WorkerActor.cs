using Akka.Actor;
using Akka.Event;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Worker;

/// <summary>
/// Holds one model replica per job and computes shards with the engine. It runs on its own
/// pinned dispatcher (one thread, sequential MKL), so a long shard never blocks other actors'
/// threads; messages that arrive meanwhile wait in its mailbox, in order.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Replies go through the transfer: gradients and predictions in chunks when they are large.
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly IMathKernels _kernels;
    private readonly Dictionary<string, Replica> _replicas = [];

    private sealed class Replica(GradientComputer computer)
    {
        public GradientComputer Computer { get; } = computer;

        /// <summary>Where shards' gradients and final states are written, shard after shard.</summary>
        public ShardOutputs Outputs { get; } = new(computer.Network.ParameterCount, computer.Network.StateSlots);

        /// <summary>
        /// The replica's own copy of the weights. The array in <see cref="ReplicaWeights"/> is not
        /// kept: from a job in this process it is the job's send buffer, rewritten for a later
        /// version once this worker has handled the message (see <see cref="ReplicaWeights"/>).
        /// </summary>
        public float[] Parameters { get; private set; } = [];

        public long Version { get; private set; } = -1;

        public void SetWeights(ReadOnlySpan<float> weights, long version)
        {
            // A length the model does not have is kept as it is: the shard that uses it fails with the engine's message.
            if (Parameters.Length != weights.Length) Parameters = new float[weights.Length];
            weights.CopyTo(Parameters);
            Version = version;
        }
    }

    public WorkerActor(IMathKernels kernels, IActorRef? coordinator)
    {
        _kernels = kernels;
        Receive<LoadReplica>(Load);
        Receive<ReplicaWeights>(w =>
        {
            if (_replicas.TryGetValue(w.JobId, out var r)) r.SetWeights(w.Parameters.Data, w.Version);
            // Copied into the replica: a remote message's array may take the next weights.
            _transfer.Recycle(w.Parameters);
        });
        Receive<DropReplica>(d => _replicas.Remove(d.JobId));
        Receive<ComputeShard>(Compute);
        Receive<PredictOnReplica>(Predict);
        Receive<WorkerRegistered>(r => _log.Info("registered with the coordinator ({0} live workers)", r.LiveWorkers));
        if (coordinator is not null) coordinator.Tell(new RegisterWorker(Self.Path.Name));
    }

    public static Props Props(IMathKernels kernels, IActorRef? coordinator) =>
        Akka.Actor.Props.Create(() => new WorkerActor(kernels, coordinator)).WithDispatcher(AkkaConfig.WorkerDispatcher);

    private void Load(LoadReplica load)
    {
        try
        {
            var spec = ModelSpec.FromJson(load.ModelJson, $"job {load.JobId} model");
            var network = new Network(spec, _kernels);
            _replicas[load.JobId] = new Replica(new GradientComputer(network, Losses.Parse(load.Loss, load.FromLogits)));
        }
        catch (ModelException e)
        {
            _log.Error("job {0}: cannot build the model replica: {1}", load.JobId, e.Message);
            _replicas.Remove(load.JobId);
        }
    }

    private void Compute(ComputeShard shard)
    {
        if (!TryReplica(shard.JobId, shard.WeightsVersion, out var replica, out var problem))
        {
            _transfer.Tell(Sender, new ShardFailed(shard.JobId, shard.Step, shard.ShardId, problem), Self);
            return;
        }
        try
        {
            _transfer.Tell(Sender, ShardMath.Compute(replica.Computer, replica.Parameters, shard, replica.Outputs), Self);
        }
        catch (Exception e)
        {
            _transfer.Tell(Sender, new ShardFailed(shard.JobId, shard.Step, shard.ShardId, $"{Self.Path.Name}: {e.Message}"), Self);
        }
    }

    private void Predict(PredictOnReplica request)
    {
        if (!TryReplica(request.JobId, request.WeightsVersion, out var replica, out var problem))
        {
            _transfer.Tell(request.ReplyTo, new RequestFailed(problem), Self);
            return;
        }
        try
        {
            _transfer.Tell(request.ReplyTo, ShardMath.Predict(replica.Computer.Network, replica.Parameters, request.JobId, request.X, request.InitialStates), Self);
        }
        catch (Exception e)
        {
            _transfer.Tell(request.ReplyTo, new RequestFailed($"predict: {e.Message}"), Self);
        }
    }

    private bool TryReplica(string jobId, long version, out Replica replica, out string problem)
    {
        problem = "";
        if (!_replicas.TryGetValue(jobId, out replica!))
        {
            problem = $"{Self.Path.Name} has no model replica for job {jobId}";
            return false;
        }
        if (replica.Version != version)
        {
            problem = $"{Self.Path.Name} holds weights version {replica.Version} of job {jobId}, the request needs {version}";
            return false;
        }
        return true;
    }
}
