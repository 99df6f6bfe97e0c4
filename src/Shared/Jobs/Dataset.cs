using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// A job's data in the engine's layout: x (N, T, D) float32; y (N, O), (N, T, O) or (N, 1) class
/// indices; one initial-state tensor (N, units) per model state slot (empty when the data has none).
/// </summary>
public sealed record Dataset(Tensor X, Tensor Y, IReadOnlyList<Tensor> InitialStates, string Description)
{
    public int Rows => X.Shape[0];
    public int Timesteps => X.Shape[1];
    public int Features => X.Shape[2];

    /// <summary>Names of x's features (last axis), when the source names them.</summary>
    public IReadOnlyList<string> FeatureNames { get; init; } = [];

    /// <summary>Names of y's columns (last axis), when the source names them.</summary>
    public IReadOnlyList<string> TargetNames { get; init; } = [];

    /// <summary>The standardisation applied (data.scale "standard"), to map predictions back; null when unscaled.</summary>
    public Standardization? Scaling { get; init; }

    /// <summary>Per-row sequence lengths (npz <c>lengths</c>), or null when every row uses all timesteps; see <see cref="SequenceLengths"/>.</summary>
    public int[]? Lengths { get; init; }
}
