using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using RnnCluster.Checkpoints;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using RnnCluster.Security;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// The entry point for clients and workers: registers and watches workers, starts one
/// <see cref="JobActor"/> per job and routes job messages to it. Jobs keep running when
/// another job fails; the actor system stays up for the next job.
/// <para>
/// In a cluster, a worker whose node becomes unreachable is taken out of the jobs' worker lists
/// at once (its shard of the step in flight is recomputed by the others) and put back if the
/// node becomes reachable again; without this a crashed worker would hold its step until the
/// split-brain resolver removes the node (stable-after, 20 s by default).
/// </para>
/// </summary>
public sealed class CoordinatorActor : ReceiveActor
{
    public const string Name = "coordinator";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Registered nodes in registration order (the order jobs lay out their blocks in), with their compute actors.
    private readonly List<WorkerNodeRef> _workers = [];
    private readonly Dictionary<string, IActorRef> _jobs = [];
    private readonly HashSet<Address> _unreachable = [];
    private readonly Address? _selfAddress;
    private readonly CoordinatorCheckpoints? _checkpoints;
    private readonly CheckpointStore? _store;
    // Job key -> job id of the jobs that checkpoint: a job started again finds its running self.
    private readonly Dictionary<string, string> _jobKeys = [];
    private readonly EndedJobs _ended;
    private readonly IActorRef _checkpointWriter = ActorRefs.Nobody;
    private readonly Transfer _transfer = Transfer.For(Context.System);
    private int _jobCounter;
    private int _predictRoundRobin;

    /// <param name="retainEndedJobs">How many ended jobs' summaries (status, metrics, final weights) are kept for clients.</param>
    public CoordinatorActor(CoordinatorCheckpoints? checkpoints = null, int retainEndedJobs = 16)
    {
        _checkpoints = checkpoints;
        _store = checkpoints?.CreateStore();
        _ended = new EndedJobs(retainEndedJobs);
        if (_store is not null) _checkpointWriter = Context.ActorOf(CheckpointWriter.Props(_store), "checkpoints");
        Receive<JobEnded>(OnJobEnded);
        // A node that loads a temporary prediction replica of an ended job asks for the job's data
        // (LoadReplica carries its hash); PredictOnReplica needs only the request's rows and DropReplica
        // follows, so the request is ignored: nothing waits for an answer.
        Receive<NeedJobData>(_ => { });
        // Local mode has no cluster: every worker is in this process and always reachable.
        if (Context.System is ExtendedActorSystem { Provider: ClusterActorRefProvider })
            _selfAddress = Akka.Cluster.Cluster.Get(Context.System).SelfAddress;
        Receive<ClusterEvent.UnreachableMember>(u => OnReachability(u.Member.Address, reachable: false));
        Receive<ClusterEvent.ReachableMember>(r => OnReachability(r.Member.Address, reachable: true));
        Receive<ClusterEvent.MemberRemoved>(m => _unreachable.Remove(m.Member.Address));
        // A worker is accepted only from a node that serves a worker certificate (with TLS; at
        // once without): a client certificate cannot join as a worker (Security/MemberVerification).
        Receive<RegisterWorker>(r =>
        {
            if (r.Workers < 1)
            {
                _log.Warning("node {0} registered with {1} workers; ignored", Sender.Path, r.Workers);
                return;
            }
            var node = Sender;
            int workers = r.Workers;
            var verifying = MemberVerification.For(Context.System).Verify(node.Path.Address, ClusterRole.Worker);
            if (verifying.IsCompletedSuccessfully) Register(node, workers, verifying.Result);
            else verifying.PipeTo(Self, success: v => new WorkerVerified(node, workers, v), failure: e => new WorkerVerified(node, workers, new ClusterTrust.Verdict(null, e.Message)));
        });
        Receive<WorkerVerified>(v => Register(v.Node, v.Workers, v.Verdict));
        Receive<Terminated>(t =>
        {
            if (_workers.RemoveAll(w => w.Node.Equals(t.ActorRef)) > 0)
            {
                _log.Warning("node {0} is gone ({1} live workers)", t.ActorRef.Path, LiveWorkerCount());
                TellJobs();
            }
        });
        Receive<GetClusterStatus>(_ => Sender.Tell(new ClusterStatus(LiveWorkerCount(), [.. _ended.Ids, .. _jobs.Keys])));
        Receive<StartJob>(Start);
        Receive<StopJob>(m => Route(m.JobId, m));
        Receive<GetJobStatus>(m => Route(m.JobId, m));
        Receive<SubscribeToJob>(m => Route(m.JobId, m));
        Receive<ResetStates>(m => Route(m.JobId, m));
        Receive<GetWeights>(m => Route(m.JobId, m));
        Receive<SetWeights>(m => Route(m.JobId, m));
        Receive<PredictRequest>(m => Route(m.JobId, m));
    }

    public static Props Props(CoordinatorCheckpoints? checkpoints = null, int retainEndedJobs = 16) =>
        Akka.Actor.Props.Create(() => new CoordinatorActor(checkpoints, retainEndedJobs));

    protected override void PreStart()
    {
        if (_selfAddress is not null)
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember), typeof(ClusterEvent.MemberRemoved));
        if (_store is not null && _checkpoints!.ResumeAllOnStart) ResumeUnfinishedJobs(_store, _checkpoints.Policy);
    }

    protected override void PostStop()
    {
        if (_selfAddress is not null) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }

    /// <summary>Registered nodes that are reachable: the ones jobs lay out blocks for.</summary>
    private List<WorkerNodeRef> LiveWorkers() => [.. _workers.Where(w => !_unreachable.Contains(NodeOf(w.Node)))];

    /// <summary>Compute actors over the live nodes.</summary>
    private int LiveWorkerCount() => LiveWorkers().Sum(w => w.Workers);

    private Address NodeOf(IActorRef worker) =>
        worker.Path.Address.HasLocalScope && _selfAddress is not null ? _selfAddress : worker.Path.Address;

    private void OnReachability(Address node, bool reachable)
    {
        bool changed = reachable ? _unreachable.Remove(node) : _unreachable.Add(node);
        if (!changed || !_workers.Any(w => NodeOf(w.Node) == node)) return;
        if (reachable) _log.Info("node {0} is reachable again; its workers take shards again", node);
        else _log.Warning("node {0} is unreachable; its workers take no shards until it is back or removed", node);
        TellJobs();
    }

    private sealed record WorkerVerified(IActorRef Node, int Workers, ClusterTrust.Verdict Verdict) : INoSerializationVerificationNeeded;

    private void Register(IActorRef node, int workers, ClusterTrust.Verdict verdict)
    {
        if (!verdict.Accepted)
        {
            _log.Error("refused worker node {0}: {1}", node.Path, verdict.Refusal);
            return;
        }
        bool added = !_workers.Any(w => w.Node.Equals(node));
        if (added)
        {
            _workers.Add(new WorkerNodeRef(node, workers));
            Context.Watch(node);
            _log.Info("node {0} registered with {1} worker(s) ({2} live)", node.Path, workers, LiveWorkerCount());
        }
        // The acknowledgement goes out before the jobs hear of the node, so it reaches the node
        // before any job's LoadReplica does (messages from two senders have no order otherwise).
        node.Tell(new WorkerRegistered(LiveWorkerCount()));
        if (added) TellJobs();
    }

    private void Start(StartJob start)
    {
        try
        {
            var job = JobSpec.FromJson(start.JobJson, "job");
            var data = new Dataset(start.X, start.Y, start.InitialStates, "sent by the client");
            if (start.X.Rank != 3) throw new JobException($"x has shape {Tensor.FormatShape(start.X.Shape)}; expected (rows, timesteps, features)");
            // The job overload also checks what the JobActor's batch plan needs (training rows left
            // after the validation split; whole batches for a stateful job), so a job that would
            // fail in the JobActor's constructor is rejected here instead of started and lost.
            DataLoader.CheckFits(data, job);
            var checkpointing = CheckpointingFor(job, data);
            if (checkpointing is not null && _jobKeys.TryGetValue(checkpointing.Key, out var running) && _jobs.TryGetValue(running, out var runningActor))
            {
                // The same job on the same data is already running (resumed when this coordinator started): follow that one.
                if (start.Subscriber is not null) runningActor.Tell(new SubscribeToJob(running, start.Subscriber), ActorRefs.NoSender);
                Sender.Tell(new JobStarted(running));
                return;
            }
            var id = checkpointing?.Resume?.JobId is { } resumedId && IsFree(resumedId) ? resumedId : NewJobId(job.Name);
            var actor = Context.ActorOf(JobActor.Props(id, job, data, LiveWorkers(), start.Subscriber, checkpointing), $"job-{id}");
            _jobs[id] = actor;
            if (checkpointing is not null) _jobKeys[checkpointing.Key] = id;
            _log.Info("job {0} started: {1} rows, {2} workers live", id, start.X.Shape[0], LiveWorkerCount());
            Sender.Tell(new JobStarted(id));
        }
        catch (Exception e) when (e is JobException or ModelException)
        {
            Sender.Tell(new JobRejected(e.Message));
        }
    }

    private string NewJobId(string name)
    {
        string id;
        do id = $"{Sanitize(name)}-{++_jobCounter}";
        while (!IsFree(id));
        return id;
    }

    /// <summary>No running job has the id, and no ended one (whose actor may still be stopping) had it.</summary>
    private bool IsFree(string id) => !_jobs.ContainsKey(id) && !_ended.Contains(id);

    /// <summary>With a checkpoint folder: the job's key, and its newest readable checkpoint to resume from.</summary>
    private JobCheckpointing? CheckpointingFor(JobSpec job, Dataset data)
    {
        if (_store is null) return null;
        var hash = JobKey.DataHash(data);
        var key = JobKey.Of(job.Name, job.ToJson(), hash);
        var snapshot = _store.Latest(key, w => _log.Warning("{0}", w));
        return new JobCheckpointing(_store, _checkpoints!.Policy, key, hash, snapshot) { Writer = _checkpointWriter };
    }

    private void ResumeUnfinishedJobs(CheckpointStore store, CheckpointPolicy policy)
    {
        foreach (var r in CheckpointScan.Unfinished(store, policy, w => _log.Warning("{0}", w)))
        {
            var id = r.Checkpointing.Resume!.JobId is { } old && IsFree(old) ? old : NewJobId(r.Job.Name);
            _jobs[id] = Context.ActorOf(JobActor.Props(id, r.Job, r.Data, LiveWorkers(), null, r.Checkpointing with { Writer = _checkpointWriter }), $"job-{id}");
            _jobKeys[r.Checkpointing.Key] = id;
            _log.Info("job {0} resumed from {1}", id, store.JobDirectory(r.Checkpointing.Key));
        }
    }

    private void Route(string jobId, object message)
    {
        if (_jobs.TryGetValue(jobId, out var job)) job.Forward(message);
        else if (_ended.TryGet(jobId, out var summary)) AnswerEnded(summary, message);
        else Sender.Tell(new UnknownJob(jobId));
    }

    /// <summary>A job ended: its summary answers from now on, and the job actor (data, buffers) goes.</summary>
    private void OnJobEnded(JobEnded ended)
    {
        var id = ended.Summary.Status.JobId;
        _jobs.Remove(id);
        foreach (var key in _jobKeys.Where(p => p.Value == id).Select(p => p.Key).ToList()) _jobKeys.Remove(key);
        _ended.Add(ended.Summary);
        // After every request this coordinator routed to it: those come back here and are answered from the summary.
        Sender.Tell(PoisonPill.Instance);
    }

    private void AnswerEnded(JobSummary summary, object message)
    {
        switch (message)
        {
            case SubscribeToJob s:
                foreach (var e in EndedJobs.Replay(summary)) _transfer.Tell(s.Subscriber, e, Self);
                Sender.Tell(new Subscribed(summary.Status.JobId));
                break;
            case SetWeights w:
                if (EndedJobs.SetWeights(summary, w, out var problem) is { } changed)
                {
                    _ended.Update(changed);
                    _transfer.Tell(Sender, new WeightsReply(changed.Status.JobId, changed.Status.WeightsVersion, changed.Weights()), Self);
                }
                else Sender.Tell(new RequestFailed(problem));
                break;
            case PredictRequest p:
                var workers = LiveWorkers();
                if (workers.Count == 0)
                {
                    Sender.Tell(new RequestFailed($"job {summary.Status.JobId}: no workers are up to predict"));
                    break;
                }
                var worker = workers[_predictRoundRobin++ % workers.Count].Node;
                foreach (var m in EndedJobs.PredictionOnTemporaryReplica(summary, p, Sender)) _transfer.Tell(worker, m, Self);
                break;
            default:
                if (EndedJobs.Answer(summary, message, LiveWorkerCount()) is { } reply) _transfer.Tell(Sender, reply, Self);
                break;
        }
    }

    private void TellJobs()
    {
        var snapshot = new WorkersChanged(LiveWorkers());
        foreach (var job in _jobs.Values) job.Tell(snapshot);
    }

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray();
        return chars.Length == 0 ? "job" : new string(chars);
    }
}
