using Akka.Actor;
using Akka.Event;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// The entry point for clients and workers: registers and watches workers, starts one
/// <see cref="JobActor"/> per job and routes job messages to it. Jobs keep running when
/// another job fails; the actor system stays up for the next job.
/// </summary>
public sealed class CoordinatorActor : ReceiveActor
{
    public const string Name = "coordinator";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _workers = [];
    private readonly Dictionary<string, IActorRef> _jobs = [];
    private int _jobCounter;

    public CoordinatorActor()
    {
        Receive<RegisterWorker>(r =>
        {
            if (!_workers.Contains(Sender))
            {
                _workers.Add(Sender);
                Context.Watch(Sender);
                _log.Info("worker {0} registered ({1} live)", Sender.Path, _workers.Count);
                TellJobs();
            }
            Sender.Tell(new WorkerRegistered(_workers.Count));
        });
        Receive<Terminated>(t =>
        {
            if (_workers.Remove(t.ActorRef))
            {
                _log.Warning("worker {0} is gone ({1} live)", t.ActorRef.Path, _workers.Count);
                TellJobs();
            }
        });
        Receive<GetClusterStatus>(_ => Sender.Tell(new ClusterStatus(_workers.Count, [.. _jobs.Keys])));
        Receive<StartJob>(Start);
        Receive<StopJob>(m => Route(m.JobId, m));
        Receive<GetJobStatus>(m => Route(m.JobId, m));
        Receive<SubscribeToJob>(m => Route(m.JobId, m));
        Receive<ResetStates>(m => Route(m.JobId, m));
        Receive<GetWeights>(m => Route(m.JobId, m));
        Receive<SetWeights>(m => Route(m.JobId, m));
        Receive<PredictRequest>(m => Route(m.JobId, m));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new CoordinatorActor());

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
            var id = $"{Sanitize(job.Name)}-{++_jobCounter}";
            var actor = Context.ActorOf(JobActor.Props(id, job, data, [.. _workers], start.Subscriber), $"job-{id}");
            _jobs[id] = actor;
            _log.Info("job {0} started: {1} rows, {2} workers live", id, start.X.Shape[0], _workers.Count);
            Sender.Tell(new JobStarted(id));
        }
        catch (Exception e) when (e is JobException or ModelException)
        {
            Sender.Tell(new JobRejected(e.Message));
        }
    }

    private void Route(string jobId, object message)
    {
        if (_jobs.TryGetValue(jobId, out var job)) job.Forward(message);
        else Sender.Tell(new UnknownJob(jobId));
    }

    private void TellJobs()
    {
        var snapshot = new WorkersChanged([.. _workers]);
        foreach (var job in _jobs.Values) job.Tell(snapshot);
    }

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray();
        return chars.Length == 0 ? "job" : new string(chars);
    }
}
