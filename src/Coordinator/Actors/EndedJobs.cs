using Akka.Actor;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// What the coordinator keeps of a job that finished, failed or was stopped once its
/// <see cref="JobActor"/> (with the data set, the buffers and every worker's replica) is gone: its
/// status, its epochs' metrics and its final weights with the model to run them.
/// </summary>
public sealed record JobSummary(
    JobStatus Status,
    IReadOnlyList<EpochCompleted> History,
    float[] Parameters,
    IReadOnlyList<WeightLayout> Layout,
    string ModelJson,
    string Loss,
    bool FromLogits,
    bool Stateful,
    string DataHash)
{
    /// <summary>The final weights by Keras name and shape (copies).</summary>
    public IReadOnlyList<NamedTensor> Weights() =>
        [.. Layout.Select(w => new NamedTensor(w.Name, new Tensor(Parameters.AsSpan(w.Offset, w.Length).ToArray(), (int[])w.Shape.Clone())))];
}

/// <summary>Where a named weight lies in the flat parameter vector.</summary>
public sealed record WeightLayout(string Name, int[] Shape, int Offset, int Length);

/// <summary>A job tells its coordinator it has ended, just before it stops; never leaves the process.</summary>
internal sealed record JobEnded(JobSummary Summary) : INoSerializationVerificationNeeded;

/// <summary>
/// The summaries of ended jobs, the newest <see cref="Retain"/> of them (older ones are forgotten:
/// requests for them get <see cref="UnknownJob"/>). Pure bookkeeping, no actors.
/// </summary>
public sealed class EndedJobs(int retain = 32)
{
    private readonly Dictionary<string, JobSummary> _byId = [];
    private readonly Queue<string> _order = new();

    public int Retain { get; } = retain >= 1 ? retain : throw new ArgumentOutOfRangeException(nameof(retain), retain, "retain at least one ended job");

    public IEnumerable<string> Ids => _order;

    public bool Contains(string jobId) => _byId.ContainsKey(jobId);

    public void Add(JobSummary summary)
    {
        var id = summary.Status.JobId;
        if (_byId.ContainsKey(id)) return;
        _byId[id] = summary;
        _order.Enqueue(id);
        while (_order.Count > Retain) _byId.Remove(_order.Dequeue());
    }

    public bool TryGet(string jobId, out JobSummary summary) => _byId.TryGetValue(jobId, out summary!);

    /// <summary>Replaces a summary (its weights were set).</summary>
    public void Update(JobSummary summary)
    {
        if (_byId.ContainsKey(summary.Status.JobId)) _byId[summary.Status.JobId] = summary;
    }

    /// <summary>
    /// SetWeights on an ended job: every weight by name with its shape, as on a running one. Returns
    /// the summary with the new weights and the next version, or null with the reason in <paramref name="problem"/>.
    /// </summary>
    public static JobSummary? SetWeights(JobSummary summary, SetWeights request, out string problem)
    {
        problem = "";
        var byName = request.Weights.ToDictionary(w => w.Name, w => w.Value);
        var next = (float[])summary.Parameters.Clone();
        foreach (var w in summary.Layout)
        {
            if (!byName.Remove(w.Name, out var t))
            {
                problem = $"set weights: weight '{w.Name}' is missing";
                return null;
            }
            if (!t.ShapeEquals(w.Shape))
            {
                problem = $"set weights: '{w.Name}' has shape {Tensor.FormatShape(t.Shape)}; expected {Tensor.FormatShape(w.Shape)}";
                return null;
            }
            t.Data.CopyTo(next, w.Offset);
        }
        if (byName.Count > 0)
        {
            problem = $"set weights: unknown weight '{byName.Keys.First()}'";
            return null;
        }
        return summary with { Parameters = next, Status = summary.Status with { WeightsVersion = summary.Status.WeightsVersion + 1 } };
    }

    /// <summary>
    /// The answer to a read-only client request about an ended job (status, stop, weights, a reset
    /// of states), or null for the others: SetWeights (<see cref="SetWeights(JobSummary, Protocol.SetWeights, out string)"/>),
    /// a subscription (<see cref="Replay"/>) and a prediction (<see cref="PredictionOnTemporaryReplica"/>).
    /// </summary>
    public static object? Answer(JobSummary summary, object request, int liveWorkers)
    {
        var status = summary.Status with { Workers = liveWorkers };
        return request switch
        {
            GetJobStatus or StopJob => status,
            GetWeights => new WeightsReply(status.JobId, status.WeightsVersion, summary.Weights()),
            ResetStates => new RequestFailed(summary.Stateful
                ? $"reset states: job {status.JobId} has ended ({status.State}); it carries no states any more"
                : "reset states: the job is not stateful: it has no carried states to reset"),
            _ => null,
        };
    }

    /// <summary>What a new subscriber hears from an ended job: its epochs, then how it ended.</summary>
    public static IEnumerable<IJobEvent> Replay(JobSummary summary)
    {
        foreach (var e in summary.History) yield return e;
        var s = summary.Status;
        yield return s.State == JobState.Finished
            ? new JobFinished(s.JobId, s.WeightsVersion, summary.Weights())
            : new JobFailed(s.JobId, s.Error ?? s.State.ToString());
    }

    /// <summary>
    /// The messages that run a prediction of an ended job on one worker and leave nothing behind:
    /// the replica is loaded with the final weights, predicts for <paramref name="replyTo"/>, and is
    /// dropped (a worker handles its messages in order).
    /// </summary>
    public static IReadOnlyList<object> PredictionOnTemporaryReplica(JobSummary summary, PredictRequest request, IActorRef replyTo)
    {
        var s = summary.Status;
        return
        [
            new LoadReplica(s.JobId, summary.ModelJson, summary.Loss, summary.FromLogits, summary.DataHash),
            new ReplicaWeights(s.JobId, s.WeightsVersion, new Tensor((float[])summary.Parameters.Clone(), summary.Parameters.Length)),
            new PredictOnReplica(s.JobId, s.WeightsVersion, request.X, request.InitialStates, replyTo),
            new DropReplica(s.JobId),
        ];
    }
}
