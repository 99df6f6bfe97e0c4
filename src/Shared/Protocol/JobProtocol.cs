using Akka.Actor;
using RnnCluster.Model;

namespace RnnCluster.Protocol;

// The client <-> coordinator conversation: start, stop and follow jobs; states; weights; predict.

/// <summary>
/// Starts a job. <paramref name="JobJson"/> is the job's description (<see cref="Jobs.JobSpec"/> as
/// JSON); the data travels with it, already loaded and checked by the client. Initial states, when
/// the state policy takes them from the data, are one tensor per state slot, (rows, units).
/// <paramref name="Subscriber"/>, when given, receives the job's progress events from its first step
/// (as <see cref="SubscribeToJob"/> would, without missing the start).
/// Reply: <see cref="JobStarted"/> or <see cref="JobRejected"/>.
/// </summary>
public sealed record StartJob(string JobJson, Tensor X, Tensor Y, IReadOnlyList<Tensor> InitialStates, IActorRef? Subscriber = null) : IProtocolMessage;

public sealed record JobStarted(string JobId) : IProtocolMessage;

public sealed record JobRejected(string Reason) : IProtocolMessage;

/// <summary>Stops a running job after its current step. Reply: <see cref="JobStatus"/>.</summary>
public sealed record StopJob(string JobId) : IProtocolMessage;

/// <summary>Reply: <see cref="JobStatus"/>, or <see cref="UnknownJob"/>.</summary>
public sealed record GetJobStatus(string JobId) : IProtocolMessage;

public enum JobState
{
    WaitingForWorkers,
    Running,
    Finished,
    Failed,
    Stopped,
}

public sealed record JobStatus(string JobId, JobState State, int Epoch, int Step, long WeightsVersion, int Workers, double LastLoss, string? Error) : IProtocolMessage;

public sealed record UnknownJob(string JobId) : IProtocolMessage;

/// <summary>Progress events for <paramref name="Subscriber"/> until the job ends. Reply: <see cref="Subscribed"/>.</summary>
public sealed record SubscribeToJob(string JobId, IActorRef Subscriber) : IProtocolMessage;

public sealed record Subscribed(string JobId) : IProtocolMessage;

/// <summary>Every progress event of a job.</summary>
public interface IJobEvent : IProtocolMessage
{
    string JobId { get; }
}

public sealed record StepCompleted(string JobId, int Epoch, int Step, int StepsPerEpoch, double Loss, int Rows, int Workers) : IJobEvent;

public sealed record EpochCompleted(string JobId, int Epoch, int Epochs, double Loss, double? ValidationLoss, IReadOnlyList<NamedMetric> Metrics) : IJobEvent;

public sealed record NamedMetric(string Name, double Value);

public sealed record JobFinished(string JobId, long WeightsVersion, IReadOnlyList<NamedTensor> Weights) : IJobEvent;

public sealed record JobFailed(string JobId, string Reason) : IJobEvent;

/// <summary>
/// Resets stateful states of a job before its next step. <paramref name="Layer"/> null: every
/// recurrent layer. <paramref name="Rows"/> null: every row. <paramref name="Values"/> null: zeros;
/// otherwise one tensor per state of the selected layer(s), (selected rows, units).
/// Reply: <see cref="StatesReset"/> or <see cref="RequestFailed"/>.
/// </summary>
public sealed record ResetStates(string JobId, int? Layer, IReadOnlyList<int>? Rows, IReadOnlyList<Tensor>? Values) : IProtocolMessage;

public sealed record StatesReset(string JobId) : IProtocolMessage;

/// <summary>Reply: <see cref="WeightsReply"/>.</summary>
public sealed record GetWeights(string JobId) : IProtocolMessage;

public sealed record WeightsReply(string JobId, long Version, IReadOnlyList<NamedTensor> Weights) : IProtocolMessage;

/// <summary>Replaces every weight (by Keras name). Reply: <see cref="WeightsReply"/> with the new version.</summary>
public sealed record SetWeights(string JobId, IReadOnlyList<NamedTensor> Weights) : IProtocolMessage;

/// <summary>
/// Runs the job's model on <paramref name="X"/> from the given initial states (empty: zeros).
/// Reply: <see cref="PredictResult"/> or <see cref="RequestFailed"/>.
/// </summary>
public sealed record PredictRequest(string JobId, Tensor X, IReadOnlyList<Tensor> InitialStates) : IProtocolMessage;

public sealed record PredictResult(string JobId, Tensor Output, IReadOnlyList<Tensor> FinalStates) : IProtocolMessage;

/// <summary>How many workers are live and which jobs exist. Reply: <see cref="ClusterStatus"/>.</summary>
public sealed record GetClusterStatus : IProtocolMessage
{
    public static readonly GetClusterStatus Instance = new();
}

public sealed record ClusterStatus(int Workers, IReadOnlyList<string> Jobs) : IProtocolMessage;

/// <summary>A request could not be served; the reason names the problem.</summary>
public sealed record RequestFailed(string Reason) : IProtocolMessage;
