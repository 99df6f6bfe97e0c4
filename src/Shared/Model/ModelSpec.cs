using System.Text.Json;
using System.Text.Json.Serialization;
using RnnCluster.Security;

namespace RnnCluster.Model;

/// <summary>
/// One layer's description, as it travels to workers and into checkpoints. Kinds:
/// <c>simple_rnn</c>, <c>lstm</c>, <c>gru</c>, <c>dense</c>, <c>masking</c>, <c>embedding</c>.
/// </summary>
public sealed record LayerSpec
{
    public required string Kind { get; init; }

    /// <summary>Output width of a recurrent or Dense layer; a masking layer has none (its output is its input).</summary>
    public int Units { get; init; }

    /// <summary>Masking: a timestep whose features all equal this value is masked (Keras's default 0.0).</summary>
    public float? MaskValue { get; init; }

    /// <summary>Embedding: the vocabulary size (token ids 0 .. input_dim - 1).</summary>
    public int? InputDim { get; init; }

    /// <summary>Embedding: the width of each token's vector.</summary>
    public int? OutputDim { get; init; }

    /// <summary>Embedding: token 0 is padding, and its steps are masked for the layers after it (Keras mask_zero).</summary>
    public bool MaskZero { get; init; }

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
    public const string Masking = "masking";
    public const string Embedding = "embedding";
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
            if (l.Kind == LayerKinds.Masking)
            {
                if (i != 0) throw new ModelException($"layer {i} (masking): a masking layer must be the model's first layer");
                if (Layers.Count == 1) throw new ModelException("layer 0 (masking): a masking layer needs a layer after it");
                if (l.Units != 0 || l.Activation is not null || l.ReturnSequences || l.GoBackwards || l.Stateful)
                    throw new ModelException("layer 0 (masking): takes only mask_value (its output has the input's width)");
                if (l.MaskValue is { } mv && !float.IsFinite(mv)) throw new ModelException($"layer 0 (masking): mask_value must be finite, got {mv}");
                continue;
            }
            if (l.MaskValue is not null) throw new ModelException($"layer {i} ({l.Kind}): mask_value applies to masking layers only");
            if (l.Kind == LayerKinds.Embedding)
            {
                if (i != 0) throw new ModelException($"layer {i} (embedding): an embedding layer must be the model's first layer");
                if (InputFeatures != 1) throw new ModelException($"layer 0 (embedding): takes one token id per timestep (input_features 1), got {InputFeatures}");
                if (l.InputDim is not >= 1 || l.OutputDim is not >= 1)
                    throw new ModelException($"layer 0 (embedding): input_dim and output_dim must be at least 1, got {l.InputDim?.ToString() ?? "none"} and {l.OutputDim?.ToString() ?? "none"}");
                if (l.Units != 0 || l.Activation is not null || l.ReturnSequences || l.GoBackwards || l.Stateful)
                    throw new ModelException("layer 0 (embedding): takes input_dim, output_dim and mask_zero only");
                if (Layers.Count == 1) throw new ModelException("layer 0 (embedding): an embedding layer needs a layer after it");
                continue;
            }
            if (l.InputDim is not null || l.OutputDim is not null || l.MaskZero)
                throw new ModelException($"layer {i} ({l.Kind}): input_dim, output_dim and mask_zero apply to embedding layers only");
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
                    throw new ModelException($"layer {i}: unknown kind '{l.Kind}' (expected simple_rnn, lstm, gru, dense, masking or embedding)");
            }
        }
        long parameters = ParameterCount();
        if (parameters > limits.MaxParameters)
            throw new ModelException($"the model has {parameters:N0} parameters, above the limit of {limits.MaxParameters:N0} ({ResourceLimits.MaxParametersVariable})");
        var names = Enumerable.Range(0, Layers.Count).Where(i => Layers[i].Kind != LayerKinds.Masking).Select(LayerName).ToList();
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
            // Masking adds no weights and keeps the width; Embedding maps each token to output_dim values.
            if (l.Kind == LayerKinds.Masking) continue;
            if (l.Kind == LayerKinds.Embedding)
            {
                total += (long)(l.InputDim ?? 0) * (l.OutputDim ?? 0);
                width = l.OutputDim ?? 0;
                continue;
            }
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

    /// <summary>True when the model masks timesteps (a masking layer first, or an embedding with mask_zero), so sequence losses skip masked steps.</summary>
    [JsonIgnore]
    public bool IsMasked => InputMaskValue is not null;

    /// <summary>
    /// The input value that masks a timestep when every feature holds it: the masking layer's
    /// mask_value, or token 0 of an embedding with mask_zero; null when the model masks nothing.
    /// </summary>
    [JsonIgnore]
    public float? InputMaskValue => Layers.Count == 0 ? null : Layers[0] switch
    {
        { Kind: LayerKinds.Masking } m => m.MaskValue ?? 0f,
        { Kind: LayerKinds.Embedding, MaskZero: true } => 0f,
        _ => null,
    };

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
