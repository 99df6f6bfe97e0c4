using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// Per-feature and per-target mean and standard deviation, computed on the training rows:
/// scaled = (value - mean) / std. Flag features (<c>_missing</c>) keep mean 0 and std 1.
/// <see cref="TargetMean"/> is empty when the targets were not scaled (class labels).
/// </summary>
public sealed record Standardization(
    IReadOnlyList<double> FeatureMean, IReadOnlyList<double> FeatureStd,
    IReadOnlyList<double> TargetMean, IReadOnlyList<double> TargetStd)
{
    /// <summary>Maps scaled predictions (..., O) back to data units, in a new tensor.</summary>
    public Tensor UnscaleTargets(Tensor scaled)
    {
        if (TargetMean.Count == 0) return scaled.Clone();
        int o = TargetMean.Count;
        if (scaled.Shape[^1] != o)
            throw new ArgumentException($"predictions have shape {Tensor.FormatShape(scaled.Shape)}; expected a last axis of {o}");
        var result = scaled.Clone();
        for (int i = 0; i < result.Length; i++)
            result.Data[i] = (float)(result.Data[i] * TargetStd[i % o] + TargetMean[i % o]);
        return result;
    }

    /// <summary>Scales raw features (..., D) as the training data was scaled, in a new tensor.</summary>
    public Tensor ScaleFeatures(Tensor raw)
    {
        int d = FeatureMean.Count;
        if (raw.Shape[^1] != d)
            throw new ArgumentException($"features have shape {Tensor.FormatShape(raw.Shape)}; expected a last axis of {d}");
        var result = raw.Clone();
        for (int i = 0; i < result.Length; i++)
            result.Data[i] = (float)((result.Data[i] - FeatureMean[i % d]) / FeatureStd[i % d]);
        return result;
    }
}
