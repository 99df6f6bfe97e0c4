using System.Globalization;

namespace RnnCluster.Security;

/// <summary>
/// Upper bounds on what one job may ask of a process, checked where a model description or a
/// job's data is validated (<see cref="Model.ModelSpec.Validate(ResourceLimits?)"/>,
/// <see cref="Jobs.DataLoader.CheckFits(Jobs.Dataset, Jobs.JobSpec)"/>), so an oversized job is
/// refused with one line naming the limit instead of an overflow or an out-of-memory crash. The
/// coordinator applies them to every job it is sent and stays up.
/// </summary>
/// <remarks>
/// Each limit comes from its environment variable, else its default: <see cref="MaxUnitsVariable"/>
/// (units of one layer, and the input width), <see cref="MaxParametersVariable"/> (weights of the
/// whole model), <see cref="MaxDataBytesVariable"/> (bytes of a job's x, y and initial states).
/// The defaults leave room for every shipped job (the largest, the 50 MB benchmark model, has
/// 12.5 M parameters) and stop far short of what one .NET array or one machine's memory holds.
/// </remarks>
public sealed record ResourceLimits
{
    public const string MaxUnitsVariable = "RNNCLUSTER_MAX_UNITS";
    public const string MaxParametersVariable = "RNNCLUSTER_MAX_PARAMETERS";
    public const string MaxDataBytesVariable = "RNNCLUSTER_MAX_DATA_BYTES";

    /// <summary>Units of one layer (and input features): 65,536.</summary>
    public long MaxUnitsPerLayer { get; init; } = 65_536;

    /// <summary>Weights of a model: 2^28 (1 GiB of float32; Adam keeps three more copies).</summary>
    public long MaxParameters { get; init; } = 1L << 28;

    /// <summary>Bytes of a job's data (x, y and initial states): 2 GiB.</summary>
    public long MaxDataBytes { get; init; } = 1L << 31;

    private static readonly Lazy<ResourceLimits> FromProcessEnvironment = new(() => FromEnvironment(Environment.GetEnvironmentVariable));

    /// <summary>The limits of this process: its environment variables over the defaults (read once).</summary>
    public static ResourceLimits Current => FromProcessEnvironment.Value;

    /// <summary>The limits from <paramref name="environment"/>; a malformed value fails (<see cref="Model.ModelException"/>) naming its variable.</summary>
    public static ResourceLimits FromEnvironment(Func<string, string?> environment)
    {
        var defaults = new ResourceLimits();
        return new ResourceLimits
        {
            MaxUnitsPerLayer = Read(environment, MaxUnitsVariable, defaults.MaxUnitsPerLayer),
            MaxParameters = Read(environment, MaxParametersVariable, defaults.MaxParameters),
            MaxDataBytes = Read(environment, MaxDataBytesVariable, defaults.MaxDataBytes),
        };
    }

    /// <summary>Fails with <see cref="Jobs.JobException"/> when a job's data is larger than <see cref="MaxDataBytes"/>.</summary>
    public void CheckDataBytes(long bytes, string what)
    {
        if (bytes > MaxDataBytes)
            throw new Jobs.JobException(
                $"{what} is {bytes:N0} bytes, above the limit of {MaxDataBytes:N0} bytes of data per job ({MaxDataBytesVariable})");
    }

    private static long Read(Func<string, string?> environment, string name, long fallback)
    {
        var text = environment(name);
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (!long.TryParse(text.Trim().Replace("_", ""), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            throw new Model.ModelException($"{name} must be a positive whole number, got '{text}'");
        return value;
    }
}

