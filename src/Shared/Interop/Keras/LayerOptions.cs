using System.Text.Json;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// One Keras layer config to our <see cref="LayerSpec"/>, and back: every option that changes
/// what the layer computes is either mapped or refused with its name and value.
/// </summary>
internal static class LayerOptions
{
    public static LayerSpec ToSpec(string? className, JsonElement c, string source)
    {
        var name = KerasConfigReader.Str(c, "name") ?? className ?? "?";
        var kind = KerasNames.KindOf(className ?? "")
            ?? throw new ModelException($"{source}: layer '{name}' is a {className}, which is not supported (supported: InputLayer, SimpleRNN, LSTM, GRU, Dense)");
        string Where() => $"{source}: layer '{name}' ({className})";
        void Refuse(string option, string value, string why = "is not supported") => throw new ModelException($"{Where()}: {option}={value} {why}");

        KerasConfigReader.CheckFloat32(c, name, source);
        if (Bool(c, "trainable") == false) Refuse("trainable", "False");
        if (Bool(c, "use_bias") == false) Refuse("use_bias", "False");
        foreach (var option in new[] { "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                                       "kernel_constraint", "recurrent_constraint", "bias_constraint", "quantization_config", "lora_rank" })
            if (c.TryGetProperty(option, out var v) && v.ValueKind != JsonValueKind.Null)
                Refuse(option, Short(v));
        var units = c.TryGetProperty("units", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32()
            : throw new ModelException($"{Where()}: no units");
        var activation = Activation(c, "activation", Where()) ?? (kind == LayerKinds.Dense ? "linear" : "tanh");

        if (kind == LayerKinds.Dense)
        {
            if (activation is not ("linear" or "tanh" or "relu" or "sigmoid" or "softmax")) Refuse("activation", activation, "is not supported (linear, tanh, relu, sigmoid, softmax)");
            return new LayerSpec { Kind = kind, Units = units, Activation = activation, Name = name };
        }

        if (kind == LayerKinds.SimpleRnn ? activation is not ("tanh" or "relu") : activation != "tanh")
            Refuse("activation", activation, kind == LayerKinds.SimpleRnn ? "is not supported (tanh or relu)" : "is not supported (tanh)");
        if (kind != LayerKinds.SimpleRnn)
        {
            var recurrent = Activation(c, "recurrent_activation", Where()) ?? "sigmoid";
            if (recurrent != "sigmoid") Refuse("recurrent_activation", recurrent, "is not supported (only sigmoid gates)");
        }
        if (kind == LayerKinds.Gru && Bool(c, "reset_after") == false) Refuse("reset_after", "False", "is not supported (only reset_after=True, Keras's default)");
        if (Bool(c, "return_state") == true) Refuse("return_state", "True");
        if (Bool(c, "time_major") == true) Refuse("time_major", "True");
        foreach (var option in new[] { "dropout", "recurrent_dropout" })
            if (c.TryGetProperty(option, out var d) && d.ValueKind == JsonValueKind.Number && d.GetDouble() != 0)
                Refuse(option, d.GetRawText());
        if (c.TryGetProperty("cell", out var cell) && cell.ValueKind != JsonValueKind.Null) Refuse("cell", Short(cell), "(a custom cell) is not supported");
        return new LayerSpec
        {
            Kind = kind,
            Units = units,
            Activation = kind == LayerKinds.SimpleRnn ? activation : null,
            ReturnSequences = Bool(c, "return_sequences") ?? false,
            GoBackwards = Bool(c, "go_backwards") ?? false,
            Stateful = Bool(c, "stateful") ?? false,
            Name = name,
        };
    }

    private static string? Activation(JsonElement c, string property, string where)
    {
        if (!c.TryGetProperty(property, out var a) || a.ValueKind == JsonValueKind.Null) return null;
        if (a.ValueKind == JsonValueKind.String) return a.GetString()!.ToLowerInvariant() is "none" ? "linear" : a.GetString()!.ToLowerInvariant();
        // Keras 3 may serialize a function as {"module": "keras.activations", "class_name": "function", "config": "tanh"}.
        if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("config", out var cfg) && cfg.ValueKind == JsonValueKind.String) return cfg.GetString()!.ToLowerInvariant();
        throw new ModelException($"{where}: {property}={Short(a)} is not supported");
    }

    private static bool? Bool(JsonElement c, string property) =>
        c.TryGetProperty(property, out var v) ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null } : null;

    private static string Short(JsonElement v)
    {
        var text = v.ValueKind == JsonValueKind.Object && v.TryGetProperty("class_name", out var cn) ? cn.ToString() : v.GetRawText();
        return text.Length > 60 ? text[..60] + "..." : text;
    }
}
