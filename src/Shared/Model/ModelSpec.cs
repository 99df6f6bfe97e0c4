using System.Text.Json;
using System.Text.Json.Serialization;
using RnnCluster.Security;

namespace RnnCluster.Model;

/// <summary>
/// One layer's description, as it travels to workers and into checkpoints. Kinds:
/// <c>simple_rnn</c>, <c>lstm</c>, <c>gru</c>, <c>dense</c>.
/// </summary>
public sealed record LayerSpec
{
    public required string Kind { get; init; }
    public required int Units { get; init; }

    /// <summary>SimpleRNN: tanh (default) or relu. Dense: linear (default), tanh, relu, sigmoid, softmax.</summary>
    public string? Activation { get; init; }

    public bool ReturnSequences { get; init; }
    public bool GoBackwards { get; init; }
    public bool Stateful { get; init; }

    /// <summary>Weight-name prefix; defaults to <c>layer{i}</c>, or <c>dense</c> for a model's only Dense layer.</summary>
    public string? Name { get; init; }

    [JsonIgnore]
    public bool IsRecurrent => Kind is LayerKinds.SimpleRnn or LayerKinds.Lstm or LayerKinds.Gru;
}

public static class LayerKinds
{
    public const string SimpleRnn = "simple_rnn";
    public const string Lstm = "lstm";
    public const string Gru = "gru";
    public const string Dense = "dense";
}

/// <summary>A whole model: input width and the layer stack. Serializes to JSON and back.</summary>
public sealed record ModelSpec
{
    public required int InputFeatures { get; init; }
    public required IReadOnlyList<LayerSpec> Layers { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ModelSpec FromJson(string json, string source = "model")
    {
        ModelSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<ModelSpec>(json, Json);
        }
        catch (JsonException e)
        {
            throw new ModelException($"{source}: invalid model JSON: {e.Message}");
        }
        if (spec is null) throw new ModelException($"{source}: empty model JSON");
        spec.Validate();
        return spec;
    }

    /// <summary>
    /// Checks kinds, units, stacking and the size against <paramref name="limits"/> (default: the
    /// process's <see cref="ResourceLimits.Current"/>); throws <see cref="ModelException"/> naming the layer.
    /// </summary>
    public void Validate(ResourceLimits? limits = null)
    {
        if (InputFeatures < 1) throw new ModelException($"model input_features must be at least 1, got {InputFeatures}");
        limits ??= ResourceLimits.Current;
        if (InputFeatures > limits.MaxUnitsPerLayer)
            throw new ModelException($"model input_features {InputFeatures} is above the limit of {limits.MaxUnitsPerLayer} ({ResourceLimits.MaxUnitsVariable})");
        if (Layers is null || Layers.Count == 0) throw new ModelException("model has no layers");
        for (int i = 0; i < Layers.Count; i++)
            if (Layers[i] is null) throw new ModelException($"layer {i} is null");
        bool sequence = true;
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            if (l.Units < 1) throw new ModelException($"layer {i} ({l.Kind}): units must be at least 1, got {l.Units}");
            if (l.Units > limits.MaxUnitsPerLayer)
                throw new ModelException($"layer {i} ({l.Kind}): units {l.Units} is above the limit of {limits.MaxUnitsPerLayer} units per layer ({ResourceLimits.MaxUnitsVariable})");
            switch (l.Kind)
            {
                case LayerKinds.SimpleRnn or LayerKinds.Lstm or LayerKinds.Gru:
                    if (!sequence)
                        throw new ModelException($"layer {i} ({l.Kind}) needs a sequence input, but layer {i - 1} returns only its last step (set return_sequences=true there)");
                    var act = ActivationNames.Parse(l.Activation ?? "tanh");
                    if (l.Kind == LayerKinds.SimpleRnn ? act is not (Activation.Tanh or Activation.Relu) : act != Activation.Tanh)
                        throw new ModelException($"layer {i} ({l.Kind}): activation '{l.Activation}' is not supported (SimpleRNN: tanh or relu; LSTM/GRU: tanh)");
                    sequence = l.ReturnSequences;
                    break;
                case LayerKinds.Dense:
                    ActivationNames.Parse(l.Activation);
                    if (l.ReturnSequences || l.GoBackwards || l.Stateful)
                        throw new ModelException($"layer {i} (dense): return_sequences, go_backwards and stateful apply to recurrent layers only");
                    break;
                default:
                    throw new ModelException($"layer {i}: unknown kind '{l.Kind}' (expected simple_rnn, lstm, gru or dense)");
            }
        }
        long parameters = ParameterCount();
        if (parameters > limits.MaxParameters)
            throw new ModelException($"the model has {parameters:N0} parameters, above the limit of {limits.MaxParameters:N0} ({ResourceLimits.MaxParametersVariable})");
        var names = Enumerable.Range(0, Layers.Count).Select(LayerName).ToList();
        var dup = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ModelException($"two layers are named '{dup.Key}'");
    }

    /// <summary>
    /// Weights of the model, counted in 64 bits (units are checked against the limit first, so
    /// this cannot overflow): kernel D x G H, recurrent kernel H x G H and bias G H per recurrent
    /// layer with G = 1, 4, 3 (SimpleRNN, LSTM, GRU; GRU's reset_after bias has two rows), D x O + O per Dense layer.
    /// </summary>
    public long ParameterCount()
    {
        long total = 0, width = InputFeatures;
        foreach (var l in Layers)
        {
            long h = l.Units;
            total += l.Kind switch
            {
                LayerKinds.SimpleRnn => h * (width + h) + h,
                LayerKinds.Lstm => 4 * h * (width + h) + 4 * h,
                LayerKinds.Gru => 3 * h * (width + h) + 6 * h,
                _ => width * h + h,
            };
            width = h;
        }
        return total;
    }

    /// <summary>True when the model's output has a time axis (B, T, O).</summary>
    [JsonIgnore]
    public bool OutputIsSequence
    {
        get
        {
            bool sequence = true;
            foreach (var l in Layers)
                if (l.IsRecurrent) sequence = l.ReturnSequences;
            return sequence;
        }
    }

    [JsonIgnore]
    public int OutputWidth => Layers[^1].Units;

    [JsonIgnore]
    public bool IsStateful => Layers.Any(l => l.Stateful);

    /// <summary>Weight-name prefix of layer i: its own name, else <c>dense</c> for a lone Dense layer, else <c>layer{i}</c>.</summary>
    public string LayerName(int i)
    {
        var l = Layers[i];
        if (l.Name is { Length: > 0 }) return l.Name;
        if (l.Kind == LayerKinds.Dense && Layers.Count(x => x.Kind == LayerKinds.Dense) == 1) return "dense";
        return $"layer{i}";
    }
}
