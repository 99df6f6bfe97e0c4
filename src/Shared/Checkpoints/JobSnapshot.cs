using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Checkpoints;

/// <summary>
/// Everything a job needs to continue exactly where it was, taken between two steps: the
/// weights (Keras names and shapes), the optimizer's step count and moments, the stateful state
/// table, the data cursor, the metrics so far and the job itself. The epoch's row order is not
/// stored: <see cref="BatchPlan.Order"/> makes it again from the job's seed and the epoch.
/// The data set is stored once per job, next to its checkpoints (<see cref="CheckpointStore.WriteDataOnce"/>).
/// </summary>
public sealed record JobSnapshot
{
    public required string JobId { get; init; }

    /// <summary>The hash of the job spec and its data that finds this job's checkpoints (<see cref="JobKey"/>).</summary>
    public required string JobKey { get; init; }

    /// <summary>The job as JSON (<see cref="Jobs.JobSpec.ToJson"/>).</summary>
    public required string JobJson { get; init; }

    /// <summary>The engine's model description (model.json), so the checkpoint is a usable model.</summary>
    public required string ModelJson { get; init; }

    /// <summary>Where the data came from, in words (the data itself is in the job's data.npz).</summary>
    public required string DataDescription { get; init; }

    public required DataCursor Cursor { get; init; }

    /// <summary>The current epoch's loss so far: the sum over its rows and the row count.</summary>
    public required double EpochLossSum { get; init; }

    public required int EpochRows { get; init; }

    public required double LastLoss { get; init; }

    /// <summary>One record per finished epoch.</summary>
    public required IReadOnlyList<EpochRecord> History { get; init; }

    /// <summary>True when every epoch is done: resuming ends the job at once with these weights.</summary>
    public required bool Finished { get; init; }

    public required IReadOnlyList<KeyValuePair<string, Tensor>> Weights { get; init; }

    public required OptimizerState Optimizer { get; init; }

    /// <summary>Stateful jobs: the carried state of every row, one (batch, units) tensor per state slot; otherwise empty.</summary>
    public required IReadOnlyList<Tensor> States { get; init; }
}

/// <summary>
/// Where a job is in its data: the epoch, the next batch within it, the optimizer steps and the
/// weight versions so far. Steps run batch after batch; the epoch ends after its last batch and
/// its evaluation, and the next one starts at batch 0.
/// </summary>
public sealed record DataCursor(int Epoch, int Batch, long Step, long WeightsVersion)
{
    public static readonly DataCursor Start = new(0, 0, 0, 0);

    /// <summary>After one training step: the next batch, one more step and weights version.</summary>
    public DataCursor AfterStep() => this with { Batch = Batch + 1, Step = Step + 1, WeightsVersion = WeightsVersion + 1 };

    /// <summary>After an epoch's evaluation: batch 0 of the next epoch.</summary>
    public DataCursor AfterEpoch() => this with { Epoch = Epoch + 1, Batch = 0 };
}

/// <summary>A finished epoch's metrics, as <see cref="EpochCompleted"/> reported them.</summary>
public sealed record EpochRecord(int Epoch, double Loss, double? ValidationLoss, IReadOnlyList<NamedMetric> Metrics);

/// <summary>
/// When a job writes a checkpoint: every <see cref="EverySteps"/> steps (null: never mid-epoch)
/// and, when <see cref="EachEpoch"/>, after every epoch. The default: each epoch only.
/// The write runs on the writer's own thread; by default the job starts its next step once the
/// checkpoint is on disk (the job's mailbox keeps serving status, subscriptions and requests
/// meanwhile), so every due checkpoint exists and a crash costs at most the steps since the last
/// one. With <see cref="Overlap"/> training goes on during the write, and a checkpoint that falls
/// due while one is being written replaces any other still waiting (only the newest is written).
/// </summary>
public sealed record CheckpointPolicy(int? EverySteps = null, bool EachEpoch = true, bool Overlap = false)
{
    public static readonly CheckpointPolicy Default = new();

    /// <summary>Whether a checkpoint is due at <paramref name="cursor"/>, reached by a step or by an epoch's end.</summary>
    public bool IsDue(DataCursor cursor, bool epochEnded) =>
        epochEnded ? EachEpoch : EverySteps is { } n && cursor.Step % n == 0;

    /// <summary>Parses <c>--checkpoint-every</c>: <c>epoch</c> or a step count N (every N steps and each epoch).</summary>
    public static CheckpointPolicy Parse(string? text)
    {
        if (text is null || text.Equals("epoch", StringComparison.OrdinalIgnoreCase)) return Default;
        if (int.TryParse(text, out var steps) && steps >= 1) return new CheckpointPolicy(steps);
        throw new ArgumentException($"--checkpoint-every expects 'epoch' or a number of steps (at least 1), got '{text}'");
    }
}
