namespace RnnCluster.Jobs;

/// <summary>What loading needs to know besides the <see cref="DataSpec"/>.</summary>
public sealed record DataLoadOptions
{
    /// <summary>Builtin data: the model's state sizes, one per state slot (see <see cref="BuiltinData.StateUnits"/>).</summary>
    public IReadOnlyList<int>? StateUnits { get; init; }

    /// <summary>Builtin data: the generator's seed.</summary>
    public int Seed { get; init; }

    /// <summary>The fraction of rows (the last ones) held out for validation: scaling statistics come from the others.</summary>
    public double ValidationSplit { get; init; }
}
