using Akka.Actor;
using Akka.Event;
using RnnCluster.Checkpoints;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// How a job checkpoints: the store, how often (<see cref="CheckpointPolicy"/>), the job's key
/// and data hash, and the checkpoint it resumes from (null: a fresh start).
/// <see cref="Writer"/>: the coordinator's <see cref="CheckpointWriter"/>, which outlives the job
/// (a failed job's end mark is written after the job has gone).
/// </summary>
public sealed record JobCheckpointing(CheckpointStore Store, CheckpointPolicy Policy, string Key, string DataHash, JobSnapshot? Resume)
{
    public IActorRef Writer { get; init; } = ActorRefs.Nobody;
}

// The job's checkpoints: a snapshot of its state taken between steps (on the job's thread, copies
// only), written by a child CheckpointWriter on its own thread; restored in the constructor.
public sealed partial class JobActor
{
    private readonly List<EpochRecord> _history = [];
    private JobCheckpointing? _checkpointing;
    private IActorRef? _checkpointWriter;
    private bool _checkpointInFlight;
    // A snapshot due while the previous one is still being written: only the newest waits.
    private JobSnapshot? _pendingCheckpoint;
    private Action? _afterCheckpoints;
    // The next step waits for the checkpoint being written (CheckpointPolicy.Overlap off).
    private bool _holdForCheckpoint;
    // The step the job (re)started at: it waits for min_workers there, as a fresh job does at step 0.
    private long _startStep;
    private bool _resumedFinished;
    private string? _resumeProblem;

    private void SetUpCheckpoints(JobCheckpointing? checkpointing, IActorRef? subscriber)
    {
        _checkpointing = checkpointing;
        if (checkpointing is null) return;
        _checkpointWriter = checkpointing.Writer;
        _checkpointWriter.Tell(new WriteJobData(checkpointing.Key, _data, checkpointing.DataHash));
        Receive<CheckpointWritten>(OnCheckpointWritten);
        if (checkpointing.Resume is not { } snapshot) return;
        try
        {
            Restore(snapshot);
            _log.Info("job {0}: resumed from its checkpoint at epoch {1}, batch {2} (step {3})", _jobId, _epoch + 1, _batchIndex, _step);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ModelException)
        {
            _resumeProblem = $"cannot resume from the checkpoint in {checkpointing.Store.JobDirectory(checkpointing.Key)}: {e.Message} (start afresh with --fresh)";
        }
        if (subscriber is not null) ReplayHistory(subscriber);
    }

    protected override void PreStart()
    {
        if (_resumeProblem is not null) End(JobState.Failed, _resumeProblem);
        else if (_resumedFinished) End(JobState.Finished, null);
    }

    private void Restore(JobSnapshot s)
    {
        var byName = s.Weights.ToDictionary(w => w.Key, w => w.Value);
        foreach (var w in _network.Weights)
        {
            if (!byName.TryGetValue(w.Name, out var t)) throw new ArgumentException($"weight '{w.Name}' is missing");
            if (!t.ShapeEquals(w.Shape)) throw new ArgumentException($"weight '{w.Name}' has shape {Tensor.FormatShape(t.Shape)}; the model's is {Tensor.FormatShape(w.Shape)}");
            t.Data.CopyTo(_parameters, w.Offset);
        }
        if (s.Optimizer.Slot1.Length is not 0 && s.Optimizer.Slot1.Length != _parameters.Length)
            throw new ArgumentException($"the optimizer's moments have {s.Optimizer.Slot1.Length} values; the model has {_parameters.Length} parameters");
        _optimizer.SetState(s.Optimizer);
        if (_stateTable is not null)
        {
            if (_stateTable.Problem(new RowRange(0, _stateTable.Batch), s.States) is { } problem) throw new ArgumentException(problem);
            _stateTable.Store(new RowRange(0, _stateTable.Batch), s.States);
        }
        else if (s.States.Count > 0) throw new ArgumentException($"it holds {s.States.Count} carried states; the job is not stateful");
        var c = s.Cursor;
        if (c.Epoch > _job.Epochs || c.Batch > _plan.BatchesPerEpoch || (c.Epoch == _job.Epochs && c.Batch != 0))
            throw new ArgumentException($"it is at epoch {c.Epoch + 1}, batch {c.Batch}; the job has {_job.Epochs} epochs of {_plan.BatchesPerEpoch} batches");
        (_epoch, _batchIndex, _step, _version) = (c.Epoch, c.Batch, c.Step, c.WeightsVersion);
        (_epochLossSum, _epochRows, _lastLoss) = (s.EpochLossSum, s.EpochRows, s.LastLoss);
        _history.AddRange(s.History);
        _epochLosses.AddRange(s.History.Select(h => h.Loss));
        if (_epoch < _job.Epochs) _order = _plan.Order(_epoch);
        _startStep = _step;
        _resumedFinished = _epoch == _job.Epochs;
    }

    private JobSnapshot Capture() => new()
    {
        JobId = _jobId,
        JobKey = _checkpointing!.Key,
        JobJson = _job.ToJson(),
        ModelJson = _network.Spec.ToJson(),
        DataDescription = _data.Description,
        Cursor = new DataCursor(_epoch, _batchIndex, _step, _version),
        EpochLossSum = _epochLossSum,
        EpochRows = _epochRows,
        LastLoss = _lastLoss,
        History = [.. _history],
        Finished = _epoch == _job.Epochs,
        Weights = [.. NamedWeights().Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value))],
        Optimizer = _optimizer.GetState(),
        States = _stateTable is null ? [] : [.. _network.StateSlots.Select((slot, k) => new Tensor(_stateTable.Slot(k).ToArray(), _stateTable.Batch, slot.Units))],
    };

    /// <summary>After a step (<paramref name="epochEnded"/> false) or an epoch's end: a checkpoint when the policy says so, and always at the job's end.</summary>
    private void CheckpointIfDue(bool epochEnded)
    {
        if (_checkpointing is null) return;
        var cursor = new DataCursor(_epoch, _batchIndex, _step, _version);
        if (!_checkpointing.Policy.IsDue(cursor, epochEnded) && _epoch < _job.Epochs) return;
        var snapshot = Capture();
        if (_checkpointInFlight)
        {
            _pendingCheckpoint = snapshot;
            return;
        }
        _checkpointInFlight = true;
        _holdForCheckpoint = !_checkpointing.Policy.Overlap;
        _checkpointWriter!.Tell(new WriteCheckpoint(snapshot));
    }

    private void OnCheckpointWritten(CheckpointWritten w)
    {
        if (w.Error is not null) _log.Warning("job {0}: {1}; training goes on and the next checkpoint tries again", _jobId, w.Error);
        if (_pendingCheckpoint is { } next)
        {
            _pendingCheckpoint = null;
            _checkpointWriter!.Tell(new WriteCheckpoint(next));
            return;
        }
        _checkpointInFlight = false;
        if (_holdForCheckpoint)
        {
            _holdForCheckpoint = false;
            Stash.UnstashAll();
            Self.Tell(NextStep.Instance);
        }
        if (_afterCheckpoints is { } then)
        {
            _afterCheckpoints = null;
            then();
        }
    }

    /// <summary>Runs <paramref name="then"/> once every checkpoint asked for is on disk (at once without checkpoints).</summary>
    private void AfterCheckpoints(Action then)
    {
        if (_checkpointInFlight) _afterCheckpoints = then;
        else then();
    }

    /// <summary>A failed or stopped job is marked, so a coordinator resuming every unfinished job passes it over.</summary>
    private void CheckpointEnd(JobState state, string? error)
    {
        if (_checkpointing is not null && state is JobState.Failed or JobState.Stopped)
            _checkpointWriter!.Tell(new MarkJobEnded(_checkpointing.Key, state, error));
    }

    /// <summary>A new subscriber first hears the epochs already done (from this run and the ones it resumed).</summary>
    private void ReplayHistory(IActorRef subscriber)
    {
        foreach (var h in _history)
            _transfer.Tell(subscriber, new EpochCompleted(_jobId, h.Epoch, _job.Epochs, h.Loss, h.ValidationLoss, h.Metrics), Self);
    }
}
