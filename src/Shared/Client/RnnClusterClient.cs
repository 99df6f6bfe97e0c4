using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Client;

/// <summary>
/// A typed, async facade over the client protocol (<see cref="JobProtocol"/>): the same methods
/// whether the coordinator is in this process (local mode) or reached through a cluster client.
/// </summary>
public sealed class RnnClusterClient
{
    private readonly ActorSystem _system;
    private readonly IActorRef _target;
    private readonly Func<object, object> _envelope;

    /// <param name="system">The client's actor system (subscriptions live there).</param>
    /// <param name="target">The coordinator, or a cluster client that forwards to it.</param>
    /// <param name="envelope">Wraps each message for <paramref name="target"/> (identity for a direct reference).</param>
    public RnnClusterClient(ActorSystem system, IActorRef target, TimeSpan? askTimeout = null, Func<object, object>? envelope = null)
    {
        _system = system;
        _target = target;
        _envelope = envelope ?? (m => m);
        AskTimeout = askTimeout ?? TimeSpan.FromSeconds(30);
    }

    public TimeSpan AskTimeout { get; }

    /// <summary>Starts a job on already loaded data; returns its id, or throws <see cref="RnnClusterException"/> with the reason.</summary>
    public async Task<string> StartJobAsync(JobSpec job, Dataset data, CancellationToken cancel = default) =>
        await AskAsync(new StartJob(job.ToJson(), data.X, data.Y, data.InitialStates), cancel) switch
        {
            JobStarted s => s.JobId,
            JobRejected r => throw new RnnClusterException($"job rejected: {r.Reason}"),
            var other => throw Unexpected(other),
        };

    public async Task<JobStatus> GetStatusAsync(string jobId, CancellationToken cancel = default) =>
        Expect<JobStatus>(await AskAsync(new GetJobStatus(jobId), cancel));

    public async Task<JobStatus> StopJobAsync(string jobId, CancellationToken cancel = default) =>
        Expect<JobStatus>(await AskAsync(new StopJob(jobId), cancel));

    /// <summary>Resets carried states before the job's next step: zeros, or the given values; one layer or all; some rows or all.</summary>
    public async Task ResetStatesAsync(string jobId, int? layer = null, IReadOnlyList<int>? rows = null, IReadOnlyList<Tensor>? values = null, CancellationToken cancel = default) =>
        Expect<StatesReset>(await AskAsync(new ResetStates(jobId, layer, rows, values), cancel));

    public async Task<WeightsReply> GetWeightsAsync(string jobId, CancellationToken cancel = default) =>
        Expect<WeightsReply>(await AskAsync(new GetWeights(jobId), cancel));

    public async Task<WeightsReply> SetWeightsAsync(string jobId, IReadOnlyList<NamedTensor> weights, CancellationToken cancel = default) =>
        Expect<WeightsReply>(await AskAsync(new SetWeights(jobId, weights), cancel));

    /// <summary>How many workers are live and which jobs the coordinator knows.</summary>
    public async Task<ClusterStatus> GetClusterStatusAsync(CancellationToken cancel = default) =>
        Expect<ClusterStatus>(await AskAsync(GetClusterStatus.Instance, cancel));

    /// <summary>Outputs and final states of the job's current model on <paramref name="x"/>.</summary>
    public async Task<PredictResult> PredictAsync(string jobId, Tensor x, IReadOnlyList<Tensor>? initialStates = null, CancellationToken cancel = default) =>
        Expect<PredictResult>(await AskAsync(new PredictRequest(jobId, x, initialStates ?? []), cancel));

    /// <summary>
    /// Starts a job and follows it from its first step: the handle's events end with
    /// <see cref="JobFinished"/> or <see cref="JobFailed"/>. Dispose the handle to stop listening.
    /// </summary>
    public async Task<JobHandle> StartWatchedJobAsync(JobSpec job, Dataset data, CancellationToken cancel = default)
    {
        var channel = Channel.CreateUnbounded<IJobEvent>();
        var subscriber = _system.ActorOf(Props.Create(() => new SubscriberActor(channel.Writer)));
        try
        {
            var reply = await AskAsync(new StartJob(job.ToJson(), data.X, data.Y, data.InitialStates, subscriber), cancel);
            return reply is JobStarted s ? new JobHandle(s.JobId, channel.Reader, () => _system.Stop(subscriber)) : throw Unexpected(reply);
        }
        catch
        {
            _system.Stop(subscriber);
            throw;
        }
    }

    /// <summary>
    /// The job's progress events from now on, ending with <see cref="JobFinished"/> or
    /// <see cref="JobFailed"/>. A job that already ended yields its final event at once.
    /// </summary>
    public async IAsyncEnumerable<IJobEvent> WatchAsync(string jobId, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        var channel = Channel.CreateUnbounded<IJobEvent>();
        var subscriber = _system.ActorOf(Props.Create(() => new SubscriberActor(channel.Writer)));
        using var handle = new JobHandle(jobId, channel.Reader, () => _system.Stop(subscriber));
        var reply = await AskAsync(new SubscribeToJob(jobId, subscriber), cancel);
        if (reply is not Subscribed) throw Unexpected(reply);
        await foreach (var e in handle.Events(cancel)) yield return e;
    }

    private async Task<object> AskAsync(object message, CancellationToken cancel)
    {
        try
        {
            return await _target.Ask<object>(_envelope(message), AskTimeout, cancel);
        }
        catch (AskTimeoutException)
        {
            throw new RnnClusterException($"the coordinator did not answer {message.GetType().Name} within {AskTimeout.TotalSeconds:0} s");
        }
    }

    private static T Expect<T>(object reply) => reply switch
    {
        T t => t,
        var other => throw Unexpected(other),
    };

    private static RnnClusterException Unexpected(object reply) => reply switch
    {
        RequestFailed f => new RnnClusterException(f.Reason),
        UnknownJob u => new RnnClusterException($"unknown job '{u.JobId}'"),
        JobRejected r => new RnnClusterException($"job rejected: {r.Reason}"),
        Status.Failure f => new RnnClusterException(f.Cause.Message),
        _ => new RnnClusterException($"unexpected reply {reply.GetType().Name}"),
    };

    private sealed class SubscriberActor : ReceiveActor
    {
        public SubscriberActor(ChannelWriter<IJobEvent> writer) => Receive<IJobEvent>(e => writer.TryWrite(e));
    }
}

/// <summary>A request to the cluster failed; the message says why.</summary>
public sealed class RnnClusterException(string message) : Exception(message);

/// <summary>A started job and its progress events.</summary>
public sealed class JobHandle(string jobId, ChannelReader<IJobEvent> events, Action stop) : IDisposable
{
    public string JobId { get; } = jobId;

    /// <summary>Events until the job finishes or fails (then the sequence ends).</summary>
    public async IAsyncEnumerable<IJobEvent> Events([EnumeratorCancellation] CancellationToken cancel = default)
    {
        await foreach (var e in events.ReadAllAsync(cancel))
        {
            yield return e;
            if (e is JobFinished or JobFailed) yield break;
        }
    }

    public void Dispose() => stop();
}
