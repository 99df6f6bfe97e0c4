using Akka.Actor;
using Akka.Event;
using RnnCluster.Checkpoints;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Coordinator.Actors;

/// <summary>The live nodes changed (sent by the coordinator to its jobs; never leaves the process).</summary>
internal sealed record WorkersChanged(IReadOnlyList<WorkerNodeRef> Workers) : INoSerializationVerificationNeeded;

/// <summary>
/// Owns one job: model description, weights with a version, optimizer state, data cursor and,
/// when stateful, the per-row state table. The job's data set goes to each node once
/// (<see cref="NeedJobData"/>); each step lays the global batch out over the live nodes
/// (<see cref="BlockLayout"/>: blocks of shards per node, a tree of nodes) and sends every node
/// only its rows' indices and initial states; the nodes add their sums up the tree, so the job
/// gets one result per child of its own in the tree, adds them in tree order, divides by the
/// batch size, clips and steps the optimizer, and sends the new weights down the tree.
/// Results for another job, an old step or an unknown shard are logged and ignored. It runs on
/// its own pinned dispatcher so aggregation never holds up other actors' threads.
/// </summary>
public sealed partial class JobActor : ReceiveActor, IWithUnboundedStash
{
    private sealed record NextStep : INoSerializationVerificationNeeded
    {
        public static readonly NextStep Instance = new();
    }

    /// <summary>One worker's answer to evaluation round <paramref name="Round"/> (a round restarts when workers change).</summary>
    private sealed record EvaluationPart(int Round, int Index, object Reply) : INoSerializationVerificationNeeded;

    /// <summary>A result the job waits for: the subtree of one of its children in the tree, the <paramref name="Index"/>-th in tree order.</summary>
    private sealed record ShardInfo(int Index, RowRange Range, IActorRef Worker);

    /// <summary><c>rnncluster.tree.fan-out</c>: children per node in the tree of nodes (and of the coordinator).</summary>
    public const int DefaultFanOut = 2;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Messages to workers and subscribers go through the transfer: large ones in chunks, all in order.
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly string _jobId;
    private readonly JobSpec _job;
    private readonly Dataset _data;
    private readonly Network _network;
    private readonly ILoss _loss;
    private readonly IOptimizer _optimizer;
    private readonly BatchPlan _plan;
    private readonly int _trainRows;
    private readonly StateTable? _stateTable;
    private readonly bool _shardsCarryStates;
    private readonly string _dataHash;
    private readonly int _fanOut;
    private readonly WeightsOutbox _weightsOutbox = new();
    private readonly RnnCluster.Metrics.StepClock _clock;
    // The shards' gradient sums are added here: a shard result's arrays are its worker's buffers.
    private readonly float[] _gradientSum;
    private readonly HashSet<IActorRef> _subscribers = [];
    private readonly List<WorkerNodeRef> _workers = [];
    private readonly Dictionary<long, ShardInfo> _inflight = [];
    // Every node of the step in flight (a lost one means the step is computed again).
    private readonly HashSet<IActorRef> _stepNodes = [];
    private readonly List<double> _epochLosses = [];
    private float[] _parameters;
    private long _version;
    private int _epoch;
    private int _batchIndex;
    private long _step;
    private long _nextShardId;
    private int[] _order;
    // The shards of the step in flight; null between steps.
    private RowRange[]? _ranges;
    // Read in ApplyStep, before any worker is sent another shard: until then the arrays in a
    // local worker's result are not written again (see ShardResult). Dispatch starts a new array.
    private ShardResult?[] _results = [];
    private object?[] _evaluation = [];
    private RowRange[] _evaluationRanges = [];
    private int _evaluationRound;
    private double _epochLossSum;
    private int _epochRows;
    // Unmasked output steps of the step in flight (masked sequence models divide by them, as Keras does).
    private long _keptSteps;
    private long[]? _rowKeptSteps;

    /// <summary>
    /// Each data row's unmasked output steps, counted once per job: a masked sequence loss is divided
    /// by their sum over the global batch, whichever nodes compute its rows.
    /// </summary>
    private long[] RowKeptSteps()
    {
        if (_rowKeptSteps is not null) return _rowKeptSteps;
        int rows = _data.X.Shape[0], stride = _data.X.Data.Length / Math.Max(rows, 1);
        var kept = new long[rows];
        for (int r = 0; r < rows; r++)
            kept[r] = SequenceMask.KeptSteps(_network.Spec, _data.X.Data.AsSpan(r * stride, stride), 1, _data.Timesteps);
        return _rowKeptSteps = kept;
    }
    private double _lastLoss = double.NaN;
    private bool _stopRequested;
    private JobState _state = JobState.WaitingForWorkers;
    private string? _error;
    private int _predictRoundRobin;

    public IStash Stash { get; set; } = null!;

    public JobActor(string jobId, JobSpec job, Dataset data, IReadOnlyList<WorkerNodeRef> workers, IActorRef? subscriber, JobCheckpointing? checkpointing = null)
    {
        _jobId = jobId;
        _clock = new(jobId);
        _job = job;
        _data = data;
        var modelSpec = job.ModelFor(data.X.Shape[2]);
        // The coordinator never runs the model: the network only gives the weights' layout and names.
        _network = new Network(modelSpec, new ManagedKernels());
        _loss = job.CreateLoss();
        _optimizer = job.Optimizer.Create();
        _parameters = Initializers.InitialParameters(_network, job.Seed);
        int rows = data.X.Shape[0];
        _trainRows = ValidationSplit.Of(rows, job.ValidationSplit).TrainRows;
        _plan = new BatchPlan(_trainRows, job.BatchSize, job.Shuffle ?? !job.IsStateful, job.IsStateful, job.Seed);
        _order = _plan.Order(0);
        if (job.IsStateful) _stateTable = new StateTable(_network.StateSlots, job.BatchSize);
        _shardsCarryStates = _stateTable is not null || job.States.Policy == StatePolicyKind.FromData;
        // Checkpointing hashed the data already to find the job's folder: the same hash, not a second pass.
        _dataHash = checkpointing?.DataHash ?? DatasetHash.Of(data);
        _fanOut = Context.System.Settings.Config.GetInt("rnncluster.tree.fan-out", DefaultFanOut);
        if (_fanOut < 1) throw new ArgumentException($"rnncluster.tree.fan-out must be at least 1, got {_fanOut}");
        _gradientSum = new float[_parameters.Length];

        Receive<WorkersChanged>(w => OnWorkersChanged(w.Workers));
        Receive<Terminated>(t => _subscribers.Remove(t.ActorRef));
        Receive<SubscribeToJob>(Subscribe);
        Receive<GetJobStatus>(_ => Sender.Tell(Status()));
        Receive<GetWeights>(_ => _transfer.Tell(Sender, new WeightsReply(_jobId, _version, NamedWeights()), Self));
        Receive<PredictRequest>(Predict);
        Receive<StopJob>(_ =>
        {
            _stopRequested = true;
            if (_state == JobState.WaitingForWorkers) End(JobState.Stopped, null);
            Sender.Tell(Status());
        });
        Receive<NeedJobData>(n =>
        {
            if (n.JobId == _jobId && n.DataHash == _dataHash) _transfer.Tell(Sender, new JobData(_jobId, _dataHash, _data.X, _data.Y, _data.InitialStates), Self);
        });
        Receive<ShardResult>(OnShardResult);
        Receive<ShardFailed>(OnShardFailed);
        Receive<EvaluationPart>(OnEvaluationPart);
        Receive<ResetStates>(r => OnBoundary(() => ApplyReset(r)));
        Receive<SetWeights>(s => OnBoundary(() => ApplySetWeights(s)));
        Receive<NextStep>(_ => StartStep());

        if (subscriber is not null)
        {
            _subscribers.Add(subscriber);
            Context.Watch(subscriber);
        }
        SetUpCheckpoints(checkpointing, subscriber);
        OnWorkersChanged(workers);
    }

    public static Props Props(string jobId, JobSpec job, Dataset data, IReadOnlyList<WorkerNodeRef> workers, IActorRef? subscriber = null, JobCheckpointing? checkpointing = null) =>
        Akka.Actor.Props.Create(() => new JobActor(jobId, job, data, workers, subscriber, checkpointing)).WithDispatcher(Hosting.AkkaConfig.JobDispatcher);

    /// <summary>
    /// A bug in a handler must not restart the job from step 0 with stale state (the default
    /// supervision): it fails the job with the exception's message instead, for every subscriber.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e) when (_state is JobState.Running or JobState.WaitingForWorkers)
        {
            _log.Error(e, "job {0}: internal error", _jobId);
            End(JobState.Failed, $"internal error in the coordinator: {e.Message}");
            return true;
        }
    }

    private bool Busy => _inflight.Count > 0 || _evaluation.Length > 0 || _holdForCheckpoint;

    /// <summary>Changes to states and weights wait for the step in flight to finish.</summary>
    private void OnBoundary(Action apply)
    {
        if (Busy)
        {
            Stash.Stash();
            return;
        }
        apply();
    }

    private int WorkerCount => _workers.Sum(w => w.Workers);

    private void OnWorkersChanged(IReadOnlyList<WorkerNodeRef> workers)
    {
        var added = workers.Where(w => !_workers.Any(o => o.Node.Equals(w.Node))).Select(w => w.Node).ToList();
        var lost = _workers.Where(w => !workers.Any(n => n.Node.Equals(w.Node))).Select(w => w.Node).ToList();
        _workers.Clear();
        _workers.AddRange(workers);
        if (_state is JobState.Failed or JobState.Stopped) return;
        // New nodes get the replica (and ask for the data unless they hold it) and the current
        // weights straight from the job; they take blocks from the next step on.
        var weights = new ReplicaWeights(_jobId, _version, new Tensor((float[])_parameters.Clone(), _parameters.Length));
        foreach (var w in added)
            _transfer.Tell(w, new LoadReplica(_jobId, _network.Spec.ToJson(), _job.Loss, _job.FromLogits, _dataHash), Self);
        // After each node's LoadReplica (order per destination holds); serialized once for all of them.
        if (added.Count > 0) _transfer.Tell(added, weights, Self);
        if (_state == JobState.WaitingForWorkers && WorkerCount >= (_step == _startStep ? _job.MinWorkers : 1))
        {
            _log.Info("job {0}: running on {1} worker(s) on {2} node(s)", _jobId, WorkerCount, _workers.Count);
            _state = JobState.Running;
            Self.Tell(NextStep.Instance);
            return;
        }
        if (lost.Count > 0 && _state == JobState.Running)
        {
            bool stepHit = lost.Any(_stepNodes.Contains) && _inflight.Count > 0;
            if (_workers.Count == 0)
            {
                _log.Warning("job {0}: no workers left; waiting", _jobId);
                _inflight.Clear();
                _stepNodes.Clear();
                _evaluation = [];
                _state = JobState.WaitingForWorkers;
            }
            else if (stepHit && _ranges is not null)
            {
                _log.Warning("job {0}: a node left during step {1}; recomputing it on {2} node(s)", _jobId, _step, _workers.Count);
                // The lost node may have died before passing this version's weights on to its
                // children: every node gets them straight from the job (a node that has them keeps them).
                var current = new ReplicaWeights(_jobId, _version, new Tensor((float[])_parameters.Clone(), _parameters.Length));
                _transfer.Tell([.. _workers.Select(w => w.Node)], current, Self);
                Dispatch();
            }
            else if (_evaluation.Length > 0) StartEvaluation();
        }
    }

    private void Subscribe(SubscribeToJob s)
    {
        _subscribers.Add(s.Subscriber);
        Context.Watch(s.Subscriber);
        ReplayHistory(s.Subscriber);
        if (_state == JobState.Finished) _transfer.Tell(s.Subscriber, new JobFinished(_jobId, _version, NamedWeights()), Self);
        if (_state is JobState.Failed or JobState.Stopped) _transfer.Tell(s.Subscriber, new JobFailed(_jobId, _error ?? "stopped"), Self);
        Sender.Tell(new Subscribed(_jobId));
    }

    private void StartStep()
    {
        if (_state != JobState.Running || Busy) return;
        if (_stopRequested)
        {
            End(JobState.Stopped, "stopped on request");
            return;
        }
        if (_batchIndex == _plan.BatchesPerEpoch)
        {
            StartEvaluation();
            return;
        }
        Dispatch();
    }

    /// <summary>Lays the current batch out over the live nodes and sends each its block (again, when a node left mid-step).</summary>
    private void Dispatch()
    {
        _clock.Dispatching();
        var rows = _plan.Batch(_order, _batchIndex);
        var layout = BlockLayout.Lay(rows.Length, [.. _workers.Select(w => w.Workers)], _fanOut);
        _inflight.Clear();
        _stepNodes.Clear();
        _keptSteps = 0;
        foreach (int row in rows) _keptSteps += RowKeptSteps()[row];
        var shardIds = new long[layout.Length];
        for (int i = 0; i < layout.Length; i++) shardIds[i] = _nextShardId++;
        var roots = layout.Where(b => b.Parent < 0).ToArray();
        _ranges = [.. roots.Select(b => b.Subtree)];
        _results = new ShardResult?[roots.Length];
        for (int r = 0; r < roots.Length; r++)
            _inflight[shardIds[roots[r].Node]] = new ShardInfo(r, roots[r].Subtree, _workers[roots[r].Node].Node);
        foreach (var block in layout)
        {
            var node = _workers[block.Node].Node;
            _stepNodes.Add(node);
            var own = block.Own;
            int[] rowIndices = rows.Slice(own.Start, own.Count).ToArray();
            // Stateful: the carried table; from_data: the rows' own states; otherwise zeros (no states).
            var states = !_shardsCarryStates ? [] : _network.StateSlots.Select(s => Tensor.Zeros(own.Count, s.Units)).ToArray();
            if (_stateTable is not null) _stateTable.CopyTo(own, states);
            else
                for (int k = 0; k < states.Length; k++) Rows.Gather(_data.InitialStates[k], rowIndices, states[k]);
            var replyTo = block.Parent < 0 ? Self : _workers[block.Parent].Node;
            _transfer.Tell(node, _clock.Sent(new ComputeBlock(_jobId, _step, shardIds[block.Node], own.Start, _version, rowIndices, states,
                block.ShardSizes, replyTo, [.. block.Children.Select(c => shardIds[c])])), Self);
        }
    }

    private void OnShardResult(ShardResult r)
    {
        if (r.JobId != _jobId || r.Step != _step || !_inflight.Remove(r.ShardId, out var info))
        {
            _log.Warning("job {0}: ignoring a result for job {1} step {2} shard {3} (current step {4})", _jobId, r.JobId, r.Step, r.ShardId, _step);
            return;
        }
        if (r.Rows != info.Range.Count || r.GradientSum.Length != _parameters.Length)
        {
            End(JobState.Failed, $"shard {info.Index} of step {_step} returned {r.Rows} rows and {r.GradientSum.Length} gradients; expected {info.Range.Count} and {_parameters.Length}");
            return;
        }
        // Checked here, not when storing them: a throw in ApplyStep would restart the actor and the job from scratch.
        if (_stateTable?.Problem(info.Range, r.FinalStates) is { } stateProblem)
        {
            End(JobState.Failed, $"shard {info.Index} of step {_step}: {stateProblem}");
            return;
        }
        _results[info.Index] = r;
        // The root of a subtree answered: every node below it has taken the weights too.
        _weightsOutbox.Answered(info.Worker);
        if (_inflight.Count == 0) ApplyStep();
    }

    private void OnShardFailed(ShardFailed f)
    {
        if (f.JobId != _jobId || f.Step != _step || !_inflight.ContainsKey(f.ShardId))
        {
            _log.Warning("job {0}: ignoring a failure report for step {1} shard {2}: {3}", _jobId, f.Step, f.ShardId, f.Reason);
            return;
        }
        End(JobState.Failed, $"step {_step}: {f.Reason}");
    }

    /// <summary>Adds the shards' gradient sums in shard order (the same whatever the arrival order), averages, clips, steps.</summary>
    private void ApplyStep()
    {
        var results = _results.Select(r => r!).ToArray();
        _clock.ResultsIn(results);
        var gradient = _gradientSum;
        results[0].GradientSum.Data.CopyTo(gradient, 0);
        double lossSum = results[0].LossSum;
        int rows = results[0].Rows;
        for (int i = 1; i < results.Length; i++)
        {
            var g = results[i].GradientSum.Data;
            for (int j = 0; j < gradient.Length; j++) gradient[j] += g[j];
            lossSum += results[i].LossSum;
            rows += results[i].Rows;
        }
        double lossRows = SequenceMask.LossRows(_network.Spec, _keptSteps, rows, _data.Timesteps);
        float inverse = Network.InverseLossRows(lossRows, rows);
        for (int j = 0; j < gradient.Length; j++) gradient[j] *= inverse;
        _optimizer.Step(_parameters, gradient);
        _version++;
        BroadcastWeights();

        if (_stateTable is not null)
            for (int i = 0; i < results.Length; i++) _stateTable.Store(_ranges![i], results[i].FinalStates);
        // Summed: a remote result's gradient array may take a later result (local ones are left to their worker).
        foreach (var r in results) _transfer.Recycle(r.GradientSum);

        _lastLoss = lossRows > 0 ? lossSum / lossRows : 0;
        // The epoch's loss weighs each batch's mean loss by its rows (Keras).
        _epochLossSum += lossRows == rows ? lossSum : _lastLoss * rows;
        _epochRows += rows;
        _clock.Applied(rows);
        Publish(new StepCompleted(_jobId, _epoch, _batchIndex, _plan.BatchesPerEpoch, _lastLoss, rows, Math.Min(WorkerCount, rows)));
        _step++;
        _batchIndex++;
        _ranges = null;
        _stepNodes.Clear();
        CheckpointIfDue(epochEnded: false);
        Stash.UnstashAll();
        Self.Tell(NextStep.Instance);
    }

    /// <summary>The new weights down the tree: to the job's own children, which pass them on.</summary>
    private void BroadcastWeights()
    {
        if (_workers.Count == 0) return;
        var nodes = _workers.Select(w => w.Node).ToArray();
        var parents = Enumerable.Range(0, nodes.Length).Select(i => BlockLayout.Parent(i, _fanOut)).ToArray();
        var roots = nodes.Where((_, i) => parents[i] < 0).ToArray();
        // A copy the optimizer will not touch while the message is on its way.
        var weights = new ReplicaWeights(_jobId, _version, _weightsOutbox.Prepare(_parameters, roots), nodes, parents);
        // Serialized once for all remote children, not once per child.
        _transfer.Tell(roots, weights, Self);
    }

    /// <summary>End of epoch: validation loss and metrics from predictions on the workers.</summary>
    private void StartEvaluation()
    {
        int rows = _data.X.Shape[0];
        bool validation = _trainRows < rows;
        if (!validation && _job.Metrics.Count == 0)
        {
            EndEpoch(null, []);
            return;
        }
        var (start, count) = validation ? (_trainRows, rows - _trainRows) : (0, _trainRows);
        _evaluationRanges = [.. ShardPlan.Cut(count, _workers.Count).Select(r => new RowRange(start + r.Start, r.Count))];
        _evaluation = new object?[_evaluationRanges.Length];
        int round = ++_evaluationRound;
        bool dataStates = _job.States.Policy == StatePolicyKind.FromData;
        for (int i = 0; i < _evaluationRanges.Length; i++)
        {
            var range = _evaluationRanges[i];
            int index = i;
            // The nodes hold the data set: only the row range travels.
            _transfer.Ask<object>(_workers[i].Node, replyTo => new PredictRows(_jobId, _version, range.Start, range.Count, dataStates, replyTo), TimeSpan.FromMinutes(10), CancellationToken.None)
                .PipeTo(Self, success: reply => new EvaluationPart(round, index, reply), failure: (Exception e) => new EvaluationPart(round, index, new RequestFailed(e.Message)));
        }
    }

    private void OnEvaluationPart(EvaluationPart part)
    {
        // A late answer from an earlier round (cut for other workers) must not fill this round's slot.
        if (part.Round != _evaluationRound || part.Index >= _evaluation.Length || _evaluation[part.Index] is not null) return;
        if (part.Reply is RequestFailed failed)
        {
            End(JobState.Failed, $"evaluation after epoch {_epoch + 1}: {failed.Reason}");
            return;
        }
        _evaluation[part.Index] = part.Reply;
        if (_evaluation.Any(e => e is null)) return;

        var outputs = _evaluation.Cast<PredictResult>().Select(p => p.Output).ToList();
        int rows = _evaluationRanges.Sum(r => r.Count);
        var prediction = new Tensor([.. outputs.SelectMany(o => o.Data)], [rows, .. outputs[0].Shape.Skip(1)]);
        var target = Rows.Slice(_data.Y, _evaluationRanges[0].Start, rows);
        bool validation = _trainRows < _data.X.Shape[0];
        var x = Rows.Slice(_data.X, _evaluationRanges[0].Start, rows);
        var keep = SequenceMask.OutputKeep(_network.Spec, x.Data, rows, _data.Timesteps);
        var evaluation = Evaluation.Compute(_loss, prediction, target, _job.Metrics, validation ? "val_" : "", keep);
        _evaluation = [];
        EndEpoch(validation ? evaluation.Loss : null, evaluation.Metrics);
    }

    private void EndEpoch(double? validationLoss, IReadOnlyList<NamedMetric> metrics)
    {
        double loss = _epochLossSum / Math.Max(1, _epochRows);
        _epochLosses.Add(loss);
        _history.Add(new EpochRecord(_epoch, loss, validationLoss, metrics));
        Publish(new EpochCompleted(_jobId, _epoch, _job.Epochs, loss, validationLoss, metrics));
        if (_stateTable is not null && _job.States.Reset == StateReset.EachEpoch) _stateTable.Reset(null, null, null);
        _epoch++;
        _batchIndex = 0;
        _epochLossSum = 0;
        _epochRows = 0;
        CheckpointIfDue(epochEnded: true);
        if (_epoch == _job.Epochs)
        {
            // Finished once the last checkpoint is on disk: a restart never runs a finished job again.
            AfterCheckpoints(() => End(JobState.Finished, null));
            return;
        }
        _order = _plan.Order(_epoch);
        Stash.UnstashAll();
        Self.Tell(NextStep.Instance);
    }

    private void End(JobState state, string? error)
    {
        _state = state;
        _error = error;
        CheckpointEnd(state, error);
        _inflight.Clear();
        _stepNodes.Clear();
        _evaluation = [];
        _ranges = null;
        if (state == JobState.Finished)
        {
            _log.Info("job {0}: finished after {1} steps", _jobId, _step);
            Publish(new JobFinished(_jobId, _version, NamedWeights()));
        }
        else
        {
            _log.Warning("job {0}: {1}", _jobId, error);
            Publish(new JobFailed(_jobId, error ?? state.ToString()));
        }
        Release();
    }

    private void ApplyReset(ResetStates r)
    {
        try
        {
            if (_stateTable is null) throw new ArgumentException("the job is not stateful: it has no carried states to reset");
            _stateTable.Reset(r.Layer, r.Rows, r.Values);
            Sender.Tell(new StatesReset(_jobId));
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new RequestFailed($"reset states: {e.Message}"));
        }
    }

    private void ApplySetWeights(SetWeights s)
    {
        try
        {
            _parameters = Model.NamedWeights.ToFlat(_network, s.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value)));
        }
        catch (ModelException e)
        {
            Sender.Tell(new RequestFailed($"set weights: {e.Message}"));
            return;
        }
        _version++;
        BroadcastWeights();
        _transfer.Tell(Sender, new WeightsReply(_jobId, _version, NamedWeights()), Self);
    }

    private void Predict(PredictRequest p)
    {
        if (_workers.Count == 0)
        {
            Sender.Tell(new RequestFailed($"job {_jobId}: no workers are up to predict"));
            return;
        }
        var worker = _workers[_predictRoundRobin++ % _workers.Count].Node;
        _transfer.Tell(worker, new PredictOnReplica(_jobId, _version, p.X, p.InitialStates, Sender), Self);
    }

    private JobStatus Status() =>
        new(_jobId, _state, _epoch, _batchIndex, _version, WorkerCount, _lastLoss, _error);

    private List<NamedTensor> NamedWeights() =>
        [.. Model.NamedWeights.FromFlat(_network, _parameters).Select(w => new NamedTensor(w.Key, w.Value))];

    private void Publish(IJobEvent e)
    {
        foreach (var s in _subscribers) _transfer.Tell(s, e, Self);
    }
}
