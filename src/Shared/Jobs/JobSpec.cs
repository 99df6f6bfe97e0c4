using System.Text.Json;
using System.Text.Json.Serialization;
using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// A training job as a JSON file describes it: model, loss, optimizer, data, batching and the
/// state policy. Paths in <see cref="DataSpec"/> are relative to the job file's folder.
/// </summary>
public sealed record JobSpec
{
    public string Name { get; init; } = "job";

    /// <summary>The layer stack; the input width comes from the data.</summary>
    public required JobModel Model { get; init; }

    public string Loss { get; init; } = "mse";
    public bool FromLogits { get; init; }
    public OptimizerSpec Optimizer { get; init; } = new();
    public required DataSpec Data { get; init; }
    public int BatchSize { get; init; } = 32;
    public int Epochs { get; init; } = 10;
    public double ValidationSplit { get; init; }

    /// <summary>Null: shuffle unless the job is stateful (as Keras users do).</summary>
    public bool? Shuffle { get; init; }

    public StatePolicy States { get; init; } = new();
    public int Seed { get; init; }

    /// <summary>The job waits until this many workers are up.</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>Extra metrics reported each epoch: "accuracy" (classification), "mae".</summary>
    public IReadOnlyList<string> Metrics { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses and checks a job; errors name the source and the problem.</summary>
    public static JobSpec FromJson(string json, string source)
    {
        JobSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<JobSpec>(json, Json);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1})" : "";
            throw new JobException($"{source}: malformed job file{where}: {FirstSentence(e.Message)}");
        }
        if (spec is null) throw new JobException($"{source}: the job file is empty");
        spec.Validate(source);
        return spec;
    }

    public static JobSpec Load(string path)
    {
        if (!File.Exists(path)) throw new JobException($"job file not found: {path}");
        var spec = FromJson(File.ReadAllText(path), path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return spec with { Data = spec.Data.ResolvedAgainst(folder) };
    }

    public bool IsStateful => States.Policy == StatePolicyKind.Stateful;

    /// <summary>The engine's model description for data with <paramref name="features"/> features.</summary>
    public ModelSpec ModelFor(int features) => new()
    {
        InputFeatures = features,
        Layers = [.. Model.Layers.Select(l => l.IsRecurrent ? l with { Stateful = IsStateful } : l)],
    };

    public ILoss CreateLoss() => Losses.Parse(Loss, FromLogits);

    public void Validate(string source)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new JobException($"{source}: {message}");
        }
        Require(Model.Layers is { Count: > 0 }, "model.layers is empty");
        Require(BatchSize >= 1, $"batch_size must be at least 1, got {BatchSize}");
        Require(Epochs >= 1, $"epochs must be at least 1, got {Epochs}");
        Require(ValidationSplit is >= 0 and < 1, $"validation_split must be in [0, 1), got {ValidationSplit}");
        Require(MinWorkers >= 1, $"min_workers must be at least 1, got {MinWorkers}");
        Require(!(IsStateful && Shuffle == true), "a stateful job keeps the row order: shuffle must be false");
        foreach (var m in Metrics)
            Require(m is "accuracy" or "mae" or "mse", $"unknown metric '{m}' (expected accuracy, mae or mse)");
        try
        {
            CreateLoss();
            Optimizer.Create();
            ModelFor(1).Validate();
        }
        catch (ModelException e)
        {
            throw new JobException($"{source}: {e.Message}");
        }
        Data.Validate(source);
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..(i + 1)] : message;
    }
}

public sealed record JobModel
{
    public required IReadOnlyList<LayerSpec> Layers { get; init; }
}

public enum StatePolicyKind
{
    /// <summary>Every batch starts from zero states.</summary>
    Zeros,

    /// <summary>Each row's initial states come with the data (per sample, per layer).</summary>
    FromData,

    /// <summary>Row i's final states are row i's initial states in the next batch.</summary>
    Stateful,
}

public enum StateReset
{
    EachEpoch,
    Never,
}

public sealed record StatePolicy
{
    public StatePolicyKind Policy { get; init; } = StatePolicyKind.Zeros;

    /// <summary>Stateful jobs: reset the carried states to zeros at each epoch's end, or never.</summary>
    public StateReset Reset { get; init; } = StateReset.EachEpoch;
}

/// <summary>A job's data cannot be used; the message names the file, row or column.</summary>
public sealed class JobException(string message) : Exception(message);
