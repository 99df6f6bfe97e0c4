using Akka.Actor;
using Akka.Event;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Worker;

/// <summary>
/// A node: what the coordinator sees of one worker process (or of local mode). It owns K compute
/// actors (<see cref="WorkerActor"/>, each on its own thread), one copy of each job's weights for
/// all of them, and each job's data set (sent once, kept by content hash in a <see cref="DataCache"/>).
/// <para>
/// Per step it gets one <see cref="ComputeBlock"/>: row indices and initial states of its rows,
/// cut into shards for its compute actors. It gathers each shard's rows from the data set, has
/// the compute actors compute them, adds their sums in shard order, then adds the results of its
/// children in the tree in their order, and sends one <see cref="ShardResult"/> up (to its parent
/// node or the job): the same layout always adds the same numbers in the same order. Weights
/// travel down the same tree (<see cref="ReplicaWeights"/>): a node passes them on to its
/// children before it takes them. A block waits until the node holds its data and its weights
/// version; a child's result that arrives before the node's own block waits for it.
/// </para>
/// </summary>
public sealed class NodeActor : ReceiveActor
{
    /// <summary>Children's results kept for blocks not yet here, at most this many.</summary>
    private const int MaxEarlyResults = 256;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private readonly IActorRef[] _compute;
    private readonly DataCache _cache = new();
    private readonly Dictionary<string, NodeJob> _jobs = [];
    private readonly Dictionary<string, ReplicaWeights> _weightsBeforeReplica = [];
    private readonly Dictionary<long, object> _early = [];
    private int _predictRoundRobin;

    private sealed class NodeJob(LoadReplica load)
    {
        public LoadReplica Load { get; } = load;
        public Dataset? Data { get; set; }
        public string? Problem { get; set; }
        public float[] Weights { get; set; } = [];
        public long Version { get; set; } = -1;
        public ShardInputs? Inputs { get; set; }
        public float[] Sum { get; set; } = [];
        public ComputeBlock? Waiting { get; set; }
        public Aggregation? Current { get; set; }
    }

    private sealed class Aggregation(ComputeBlock block)
    {
        public ComputeBlock Block { get; } = block;
        public ShardSums?[] Own { get; } = new ShardSums?[block.ShardSizes.Count];
        public ShardResult?[] Children { get; } = new ShardResult?[block.ChildShards.Count];
        public bool Complete => Own.All(o => o is not null) && Children.All(c => c is not null);
    }

    public NodeActor(IMathKernels kernels, int workers, IActorRef? coordinator)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "a node needs at least one worker");
        // rnncluster.bench.fixed-compute: the communication benchmark replaces the math by a sleep (default: off).
        var fixedCompute = Context.System.Settings.Config.GetTimeSpan("rnncluster.bench.fixed-compute", TimeSpan.Zero, allowInfinite: false);
        if (fixedCompute > TimeSpan.Zero) _log.Warning("communication benchmark mode: every shard is a {0} ms sleep, not the math (rnncluster.bench.fixed-compute)", fixedCompute.TotalMilliseconds);
        _compute = [.. Enumerable.Range(1, workers).Select(i => Context.ActorOf(WorkerActor.Props(kernels, fixedCompute), $"compute-{i}"))];
        Receive<LoadReplica>(OnLoad);
        Receive<JobData>(OnData);
        Receive<ReplicaWeights>(OnWeights);
        Receive<DropReplica>(OnDrop);
        Receive<ComputeBlock>(OnBlock);
        Receive<TaskDone>(OnTaskDone);
        Receive<TaskFailed>(OnTaskFailed);
        Receive<ShardResult>(OnChildResult);
        Receive<ShardFailed>(OnChildFailed);
        Receive<PredictOnReplica>(p => Predict(p.JobId, p.WeightsVersion, p.ReplyTo, _ => (p.X, p.InitialStates)));
        Receive<PredictRows>(OnPredictRows);
        Receive<WorkerRegistered>(r => _log.Info("registered with the coordinator ({0} live workers)", r.LiveWorkers));
        coordinator?.Tell(new RegisterWorker(Self.Path.Name, workers));
    }

    public static Props Props(IMathKernels kernels, int workers, IActorRef? coordinator) =>
        Akka.Actor.Props.Create(() => new NodeActor(kernels, workers, coordinator));

    public int Workers => _compute.Length;

    private void OnLoad(LoadReplica load)
    {
        var job = new NodeJob(load);
        _jobs[load.JobId] = job;
        foreach (var c in _compute) c.Tell(new LoadModel(load.JobId, load.ModelJson, load.Loss, load.FromLogits));
        if (_cache.TryGet(load.DataHash, out var data)) job.Data = data;
        else _transfer.Tell(Sender, new NeedJobData(load.JobId, load.DataHash), Self);
        if (_weightsBeforeReplica.Remove(load.JobId, out var early)) TakeWeights(job, early);
    }

    /// <summary>
    /// The job released its replica: its model goes from the compute actors and its data set from
    /// the cache, unless another replica on this node uses the same data (by content hash).
    /// </summary>
    private void OnDrop(DropReplica d)
    {
        _weightsBeforeReplica.Remove(d.JobId);
        foreach (var c in _compute) c.Tell(new DropModel(d.JobId));
        if (!_jobs.Remove(d.JobId, out var job)) return;
        var hash = job.Load.DataHash;
        if (!_jobs.Values.Any(j => j.Load.DataHash == hash)) _cache.Remove(hash);
    }

    private void OnData(JobData d)
    {
        if (!_jobs.TryGetValue(d.JobId, out var job) || job.Data is not null || job.Load.DataHash != d.DataHash) return;
        var hash = DatasetHash.Of(d.X, d.Y, d.InitialStates);
        if (hash != d.DataHash)
        {
            job.Problem = $"the data set of job {d.JobId} arrived with content hash {hash}, expected {d.DataHash}";
            _log.Error(job.Problem);
        }
        else
        {
            job.Data = new Dataset(d.X, d.Y, d.InitialStates, $"job {d.JobId}, {hash}");
            _cache.Add(hash, job.Data, _jobs.Values.Select(j => j.Load.DataHash).ToHashSet());
        }
        TryStart(job);
    }

    private void OnWeights(ReplicaWeights w)
    {
        // Down the tree first: the children's copies are on their way while this node copies its own.
        int me = -1;
        for (int i = 0; i < w.Tree.Count && me < 0; i++)
            if (w.Tree[i].Equals(Self)) me = i;
        var children = new List<IActorRef>();
        for (int i = 0; i < w.Parents.Count && i < w.Tree.Count; i++)
            if (me >= 0 && w.Parents[i] == me) children.Add(w.Tree[i]);
        if (children.Count > 0) _transfer.Tell(children, w, Sender);
        if (!_jobs.TryGetValue(w.JobId, out var job))
        {
            // Through the tree weights can overtake the job's own LoadReplica to this node.
            _weightsBeforeReplica[w.JobId] = w;
            return;
        }
        TakeWeights(job, w);
        // A local child still copies from the message's array: leave it to the collector then.
        if (!children.Any(c => c is IInternalActorRef { IsLocal: true })) _transfer.Recycle(w.Parameters);
    }

    private void TakeWeights(NodeJob job, ReplicaWeights w)
    {
        if (w.Version < job.Version) return;
        if (job.Weights.Length != w.Parameters.Length) job.Weights = new float[w.Parameters.Length];
        w.Parameters.Data.CopyTo(job.Weights, 0);
        job.Version = w.Version;
        TryStart(job);
    }

    private void OnBlock(ComputeBlock block)
    {
        if (!_jobs.TryGetValue(block.JobId, out var job))
        {
            _transfer.Tell(block.ReplyTo, new ShardFailed(block.JobId, block.Step, block.ShardId, $"{Self.Path.Name} has no model replica for job {block.JobId}"), Self);
            return;
        }
        job.Waiting = block;
        TryStart(job);
    }

    /// <summary>Starts the waiting block once the node has its data and weights.</summary>
    private void TryStart(NodeJob job)
    {
        if (job.Waiting is not { } block) return;
        if (job.Problem is not null)
        {
            job.Waiting = null;
            Fail(block, job.Problem);
            return;
        }
        if (job.Data is null || job.Version < block.WeightsVersion) return;
        job.Waiting = null;
        if (job.Version > block.WeightsVersion)
        {
            _log.Debug("job {0}: block {1} of step {2} needs weights {3}, superseded by {4}; dropped", block.JobId, block.ShardId, block.Step, block.WeightsVersion, job.Version);
            return;
        }
        var data = job.Data;
        if (job.Inputs is null || job.Current is not null)
        {
            // A block still being computed is abandoned: its buffers may still be read.
            job.Inputs = new ShardInputs(data.X, data.Y, [.. block.InitialStates.Select(s => s.Shape.Length == 2 ? s.Shape[1] : 0)]);
        }
        if (job.Sum.Length != job.Weights.Length) job.Sum = new float[job.Weights.Length];
        var aggregation = new Aggregation(block);
        job.Current = aggregation;
        foreach (var key in _early.Keys.ToList())
        {
            int child = IndexOf(block.ChildShards, key);
            if (child < 0) continue;
            var early = _early[key];
            _early.Remove(key);
            if (early is ShardFailed f)
            {
                ChildFailed(job, f);
                return;
            }
            aggregation.Children[child] = (ShardResult)early;
        }
        if (block.ShardSizes.Count > _compute.Length)
        {
            // Two shards on one compute actor would share its output buffers.
            Fail(block, $"block {block.ShardId} has {block.ShardSizes.Count} shards for {_compute.Length} workers");
            job.Current = null;
            return;
        }
        int rowsSum = block.ShardSizes.Sum();
        if (rowsSum != block.Rows.Count)
        {
            Fail(block, $"block {block.ShardId} has {block.Rows.Count} rows but shards of {rowsSum}");
            job.Current = null;
            return;
        }
        int offset = 0;
        var rowIndices = block.Rows as int[] ?? [.. block.Rows];
        for (int i = 0; i < block.ShardSizes.Count; i++)
        {
            int n = block.ShardSizes[i];
            var input = job.Inputs.For(i, n);
            var rows = rowIndices.AsSpan(offset, n);
            try
            {
                Rows.Gather(data.X, rows, input.X);
                Rows.Gather(data.Y, rows, input.Y);
                for (int k = 0; k < block.InitialStates.Count; k++)
                {
                    int units = input.States[k].Shape[1];
                    block.InitialStates[k].Data.AsSpan(offset * units, n * units).CopyTo(input.States[k].Data);
                }
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException)
            {
                Fail(block, $"block {block.ShardId}: rows or states do not fit the job's data ({e.Message})");
                job.Current = null;
                return;
            }
            _compute[i].Tell(new ComputeTask(block.JobId, block.ShardId, i, job.Weights, input.X, input.Y,
                block.InitialStates.Count == 0 ? [] : input.States));
            offset += n;
        }
        CompleteIfDone(job);
    }

    private static int IndexOf(IReadOnlyList<long> list, long value)
    {
        for (int i = 0; i < list.Count; i++)
            if (list[i] == value) return i;
        return -1;
    }

    private void OnTaskDone(TaskDone done)
    {
        if (!_jobs.TryGetValue(done.JobId, out var job) || job.Current is not { } a || a.Block.ShardId != done.ShardId) return;
        a.Own[done.Index] = done.Sums;
        CompleteIfDone(job);
    }

    private void OnTaskFailed(TaskFailed failed)
    {
        if (!_jobs.TryGetValue(failed.JobId, out var job) || job.Current is not { } a || a.Block.ShardId != failed.ShardId) return;
        job.Current = null;
        Fail(a.Block, failed.Reason);
    }

    private void OnChildResult(ShardResult r)
    {
        if (_jobs.TryGetValue(r.JobId, out var job) && job.Current is { } a && IndexOf(a.Block.ChildShards, r.ShardId) is var i and >= 0)
        {
            a.Children[i] = r;
            CompleteIfDone(job);
            return;
        }
        KeepEarly(r.ShardId, r);
    }

    private void OnChildFailed(ShardFailed f)
    {
        if (_jobs.TryGetValue(f.JobId, out var job) && job.Current is { } a && IndexOf(a.Block.ChildShards, f.ShardId) >= 0)
        {
            ChildFailed(job, f);
            return;
        }
        KeepEarly(f.ShardId, f);
    }

    private void ChildFailed(NodeJob job, ShardFailed f)
    {
        var block = job.Current!.Block;
        job.Current = null;
        Fail(block, f.Reason);
    }

    private void KeepEarly(long shardId, object message)
    {
        // Shard ids grow: when full, the oldest (smallest) go first.
        while (_early.Count >= MaxEarlyResults) _early.Remove(_early.Keys.Min());
        _early[shardId] = message;
    }

    private void Fail(ComputeBlock block, string reason) =>
        _transfer.Tell(block.ReplyTo, new ShardFailed(block.JobId, block.Step, block.ShardId, reason), Self);

    /// <summary>Own shards in shard order, then the children in tree order: one fixed order for one layout.</summary>
    private void CompleteIfDone(NodeJob job)
    {
        var a = job.Current!;
        if (!a.Complete) return;
        job.Current = null;
        var sum = job.Sum;
        var parts = a.Own.Select(o => (o!.Rows, o.LossSum, (ReadOnlyMemory<float>)o.GradientSum, (IReadOnlyList<Tensor>)o.FinalStates))
            .Concat(a.Children.Select(c => (c!.Rows, c.LossSum, (ReadOnlyMemory<float>)c.GradientSum.Data, c.FinalStates)))
            .ToList();
        int rows = 0;
        double loss = 0;
        if (parts.Count == 0) Array.Clear(sum);
        for (int p = 0; p < parts.Count; p++)
        {
            var g = parts[p].Item3.Span;
            if (g.Length != sum.Length)
            {
                Fail(a.Block, $"a part of block {a.Block.ShardId} has {g.Length} gradients; expected {sum.Length}");
                return;
            }
            if (p == 0) g.CopyTo(sum);
            else
                for (int j = 0; j < sum.Length; j++) sum[j] += g[j];
            rows += parts[p].Rows;
            loss += parts[p].LossSum;
        }
        var finals = Concatenate(parts.Select(p => p.Item4).ToList(), rows);
        _transfer.Tell(a.Block.ReplyTo, new ShardResult(a.Block.JobId, a.Block.Step, a.Block.ShardId, rows, loss, new Tensor(sum, sum.Length), finals), Self);
        foreach (var c in a.Children) _transfer.Recycle(c!.GradientSum);
    }

    /// <summary>The parts' final states one after the other, per state slot.</summary>
    private static Tensor[] Concatenate(List<IReadOnlyList<Tensor>> parts, int rows)
    {
        var withStates = parts.Where(p => p.Count > 0).ToList();
        if (withStates.Count == 0) return [];
        int slots = withStates[0].Count;
        var result = new Tensor[slots];
        for (int k = 0; k < slots; k++)
        {
            int units = withStates[0][k].Shape[1];
            var t = Tensor.Zeros(rows, units);
            int offset = 0;
            foreach (var p in withStates)
            {
                p[k].Data.CopyTo(t.Data, offset);
                offset += p[k].Length;
            }
            result[k] = t;
        }
        return result;
    }

    private void OnPredictRows(PredictRows p)
    {
        if (_jobs.TryGetValue(p.JobId, out var job) && job.Data is null)
        {
            _transfer.Tell(p.ReplyTo, new RequestFailed($"{Self.Path.Name} does not hold the data of job {p.JobId} yet"), Self);
            return;
        }
        Predict(p.JobId, p.WeightsVersion, p.ReplyTo, data =>
        {
            var x = Rows.Slice(data!.X, p.RowStart, p.Count);
            IReadOnlyList<Tensor> states = p.DataStates ? [.. data.InitialStates.Select(s => Rows.Slice(s, p.RowStart, p.Count))] : [];
            return (x, states);
        });
    }

    private void Predict(string jobId, long version, IActorRef replyTo, Func<Dataset?, (Tensor X, IReadOnlyList<Tensor> States)> inputs)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            _transfer.Tell(replyTo, new RequestFailed($"{Self.Path.Name} has no model replica for job {jobId}"), Self);
            return;
        }
        if (job.Version != version)
        {
            _transfer.Tell(replyTo, new RequestFailed($"{Self.Path.Name} holds weights version {job.Version} of job {jobId}, the request needs {version}"), Self);
            return;
        }
        (Tensor X, IReadOnlyList<Tensor> States) input;
        try
        {
            input = inputs(job.Data);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or ArgumentException)
        {
            _transfer.Tell(replyTo, new RequestFailed($"predict: rows outside job {jobId}'s data ({e.Message})"), Self);
            return;
        }
        // A copy: the prediction may still run when the next weights arrive.
        _compute[_predictRoundRobin++ % _compute.Length].Tell(new PredictTask(jobId, (float[])job.Weights.Clone(), input.X, input.States, replyTo));
    }
}
