using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// The built-in job the CLI runs when no job file is given (the same as jobs/default.json):
/// LSTM(16) -> Dense(1) on the builtin "phase_level" data, whose hidden level comes only as the
/// initial state (policy from_data). Ignoring the state leaves an MSE of about 1/3.
/// </summary>
public static class DefaultJob
{
    public static JobSpec Spec { get; } = new()
    {
        Name = "default",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.Lstm, Units = 16 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 0.01f },
        Data = new DataSpec
        {
            Source = DataSpec.BuiltinSource,
            Builtin = BuiltinData.PhaseLevel,
            Rows = DataSpec.DefaultRows,
            Timesteps = DataSpec.DefaultTimesteps,
        },
        BatchSize = 64,
        Epochs = 6,
        ValidationSplit = 0.1,
        States = new StatePolicy { Policy = StatePolicyKind.FromData },
        Seed = 7,
    };
}
