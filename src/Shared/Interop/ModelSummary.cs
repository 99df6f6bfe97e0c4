using System.Globalization;
using System.Text;
using RnnCluster.Model;

namespace RnnCluster.Interop;

/// <summary>What a model file says about a model: its layers, where it came from, and what it could not say.</summary>
public sealed record ModelDescription(string Name, string Format, ModelSpec Spec)
{
    public int? Timesteps { get; init; }

    /// <summary>The name of the sequence input (Keras Input, ONNX graph input).</summary>
    public string InputName { get; init; } = "input";

    /// <summary>Per state slot, the model input it comes from (Keras Input, ONNX graph input), or null for zeros.</summary>
    public IReadOnlyList<string?> StateSources { get; init; } = [];

    /// <summary>Things the file does not record (shown under the table).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// Keras's <c>model.summary()</c> for our models: one row per layer with its Keras name and
/// class, output shape (<c>None</c> for the batch and any unknown length), parameter count, and
/// the layer's state slots (h, and c for LSTM) with where their initial values come from.
/// </summary>
public static class ModelSummary
{
    public static string Format(ModelDescription d)
    {
        var spec = d.Spec;
        var layout = ModelWeights.LayoutOf(spec);
        var rows = new List<string[]>();
        var t = d.Timesteps?.ToString(CultureInfo.InvariantCulture) ?? "None";
        rows.Add([$"{d.InputName} (InputLayer)", $"(None, {t}, {spec.InputFeatures})", "0", ""]);
        bool sequence = true;
        int slot = 0;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            if (l.IsRecurrent) sequence = l.ReturnSequences;
            var shape = sequence ? $"(None, {t}, {l.Units})" : $"(None, {l.Units})";
            var states = new List<string>();
            if (l.IsRecurrent)
            {
                foreach (var s in l.Kind == LayerKinds.Lstm ? new[] { "h", "c" } : ["h"])
                {
                    var source = slot < d.StateSources.Count ? d.StateSources[slot] : null;
                    states.Add($"{s} (None, {l.Units})" + (source is null ? "" : $" <- {source}"));
                    slot++;
                }
            }
            var options = new List<string>();
            if (l.GoBackwards) options.Add("go_backwards");
            if (l.Stateful) options.Add("stateful");
            if (l.Activation is { } a && a != (l.IsRecurrent ? "tanh" : "linear")) options.Add(a);
            var type = KerasNameOf(l.Kind) + (options.Count > 0 ? ", " + string.Join(", ", options) : "");
            rows.Add([$"{spec.LayerName(i)} ({type})", shape, ModelWeights.ParameterCount(layout[i]).ToString("N0", CultureInfo.InvariantCulture), string.Join(", ", states)]);
        }
        string[] header = ["Layer (type)", "Output Shape", "Param #", "State slots"];
        var widths = Enumerable.Range(0, 4).Select(c => Math.Max(header[c].Length, rows.Max(r => r[c].Length))).ToArray();
        int total = widths.Sum() + 3 * 3 + 2;
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{d.Name}\" ({d.Format})");
        sb.AppendLine(new string('_', total));
        sb.AppendLine(Row(header, widths));
        sb.AppendLine(new string('=', total));
        for (int r = 0; r < rows.Count; r++)
        {
            sb.AppendLine(Row(rows[r], widths));
            if (r < rows.Count - 1) sb.AppendLine(new string('_', total));
        }
        sb.AppendLine(new string('=', total));
        long parameters = layout.Sum(ModelWeights.ParameterCount);
        sb.AppendLine($"Total params: {parameters.ToString("N0", CultureInfo.InvariantCulture)} ({Bytes(parameters * 4)})");
        sb.AppendLine($"Trainable params: {parameters.ToString("N0", CultureInfo.InvariantCulture)} ({Bytes(parameters * 4)})");
        sb.AppendLine("Non-trainable params: 0 (0.00 B)");
        sb.AppendLine($"State slots: {slot}" + (slot > 0 ? " (initial states in, final states out, in this order)" : ""));
        foreach (var n in d.Notes) sb.AppendLine($"Note: {n}");
        return sb.ToString();
    }

    private static string KerasNameOf(string kind) => Keras.KerasNames.ClassName(kind);

    private static string Row(string[] cells, int[] widths) =>
        " " + string.Join("   ", cells.Select((c, i) => i == 2 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();

    private static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes.ToString(CultureInfo.InvariantCulture)}.00 B",
        < 1024 * 1024 => $"{(bytes / 1024.0).ToString("0.00", CultureInfo.InvariantCulture)} KB",
        _ => $"{(bytes / 1048576.0).ToString("0.00", CultureInfo.InvariantCulture)} MB",
    };
}
