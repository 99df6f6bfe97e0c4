using System.Text.Json;
using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Checkpoints;

/// <summary>
/// <see cref="Sequential.Fit"/>'s checkpoint option: the folder, how often
/// (<see cref="CheckpointPolicy"/>, default each epoch), whether to start over (<see cref="Fresh"/>
/// discards the run's checkpoints), how many to keep, and where warnings about damaged
/// checkpoints go (default: standard error).
/// </summary>
public sealed record FitCheckpoint(string Directory, CheckpointPolicy? Policy = null, bool Fresh = false, int Keep = 2, Action<string>? Warn = null);

/// <summary>
/// One Fit's checkpoints, in the layout <see cref="CheckpointStore"/> writes for jobs. The key is
/// the hash of the model, loss, optimizer, seed and Fit's arguments with the data; the data is not
/// stored (Fit is given it again). Checkpoints are written on the caller's thread, between steps.
/// </summary>
internal sealed class FitCheckpoints
{
    private readonly Sequential _model;
    private readonly CheckpointStore _store;
    private readonly CheckpointPolicy _policy;
    private readonly Action<string> _warn;
    private readonly string _key;
    private readonly string _specJson;
    private readonly int _batchSize;
    private long _step;

    public FitCheckpoints(Sequential model, FitCheckpoint options, Tensor x, Tensor y, IReadOnlyList<Tensor>? initialStates, int batchSize, string fitArguments)
    {
        _model = model;
        _store = new CheckpointStore(options.Directory, options.Keep);
        _policy = options.Policy ?? CheckpointPolicy.Default;
        _warn = options.Warn ?? (w => Console.Error.WriteLine($"warning: {w}"));
        _batchSize = batchSize;
        _specJson = JsonSerializer.Serialize(new
        {
            model = model.Spec.ToJson(),
            loss = model.Loss!.Name,
            optimizer = model.Optimizer!.Spec,
            seed = model.Seed,
            fit = fitArguments,
        });
        var data = new Dataset(x, y, initialStates ?? [], "Sequential.Fit data");
        _key = JobKey.Of("fit", _specJson, data);
        if (options.Fresh) _store.Discard(_key);
    }

    public string JobDirectory => _store.JobDirectory(_key);

    /// <summary>Restores the newest checkpoint into the model and the histories; returns where to go on (epoch, batch, the epoch's loss sum so far).</summary>
    public (int Epoch, int Batch, double EpochLossSum) Resume(List<double> losses, List<double> validation)
    {
        var s = _store.Latest(_key, _warn);
        if (s is null) return (0, 0, 0);
        _model.SetWeights(s.Weights);
        _model.Optimizer!.SetState(s.Optimizer);
        if (_model.IsStateful)
            // A state of exact zeros was a reset (null) state: restored as one, so the engine takes the same path.
            _model.RestoreCarriedStates([.. s.States.Select(t => t.Data.All(v => BitConverter.SingleToInt32Bits(v) == 0) ? null : t)], _batchSize);
        losses.AddRange(s.History.Select(h => h.Loss));
        validation.AddRange(s.History.Where(h => h.ValidationLoss is not null).Select(h => h.ValidationLoss!.Value));
        _step = s.Cursor.Step;
        return (s.Cursor.Epoch, s.Cursor.Batch, s.EpochLossSum);
    }

    public void AfterStep(int epoch, int batchesDone, double epochLossSum, int epochRows, List<double> losses, List<double> validation)
    {
        _step++;
        var cursor = new DataCursor(epoch, batchesDone, _step, _step);
        if (_policy.IsDue(cursor, epochEnded: false)) Write(cursor, epochLossSum, epochRows, losses, validation, finished: false);
    }

    public void AfterEpoch(int nextEpoch, int epochs, List<double> losses, List<double> validation)
    {
        var cursor = new DataCursor(nextEpoch, 0, _step, _step);
        if (_policy.IsDue(cursor, epochEnded: true) || nextEpoch == epochs) Write(cursor, 0, 0, losses, validation, finished: nextEpoch == epochs);
    }

    private void Write(DataCursor cursor, double epochLossSum, int epochRows, List<double> losses, List<double> validation, bool finished)
    {
        var slots = _model.Network.StateSlots;
        _store.Write(new JobSnapshot
        {
            JobId = "fit",
            JobKey = _key,
            JobJson = _specJson,
            ModelJson = _model.Spec.ToJson(),
            DataDescription = "Sequential.Fit data",
            Cursor = cursor,
            EpochLossSum = epochLossSum,
            EpochRows = epochRows,
            LastLoss = losses.Count > 0 ? losses[^1] : double.NaN,
            History = [.. losses.Select((l, e) => new EpochRecord(e, l, e < validation.Count ? validation[e] : null, []))],
            Finished = finished,
            Weights = _model.GetWeights(),
            Optimizer = _model.Optimizer!.GetState(),
            States = _model.IsStateful
                ? [.. _model.CarriedStates.Select((t, k) => t?.Clone() ?? Tensor.Zeros(_batchSize, slots[k].Units))]
                : [],
        });
    }
}
