using RnnCluster.Data;
using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// Variable-length sequences given as per-row lengths (npz key <c>lengths</c>, shape (samples,)):
/// row b holds lengths[b] real steps, then padding (Keras's <c>pad_sequences(padding="post")</c>).
/// The job's model must start with a masking layer; the padded steps are set to its
/// <c>mask_value</c> in every feature, so the mask travels inside x to every worker and a padded
/// step is masked whatever values the file held there.
/// </summary>
public static class SequenceLengths
{
    public const string Key = "lengths";

    /// <summary>The lengths array of an npz, checked against x (samples, timesteps); null when the file has none.</summary>
    public static int[]? Read(IReadOnlyDictionary<string, NpyArray> arrays, int rows, int timesteps, string path)
    {
        if (!arrays.TryGetValue(Key, out var a)) return null;
        if (a.Rank != 1 || a.Dim(0) != rows)
            throw new JobException($"{path}: {Key} has shape {NpyArray.FormatShape(a.Shape)}; expected ({rows},), one length per row");
        var values = a.ToDoubles();
        var lengths = new int[rows];
        for (int b = 0; b < rows; b++)
        {
            double v = values[b];
            if (v != Math.Floor(v) || v < 0 || v > timesteps)
                throw new JobException($"{path}: {Key}[{b}] = {v} is not a whole number of steps in [0, {timesteps}]");
            lengths[b] = (int)v;
        }
        return lengths;
    }

    /// <summary>The data with every step at or after its row's length set to the model's mask value (a new x); the data itself when it has no lengths.</summary>
    public static Dataset Pad(Dataset data, ModelSpec model)
    {
        if (data.Lengths is not { } lengths) return data;
        if (model.InputMaskValue is not { } maskValue)
            throw new JobException($"the data gives per-row lengths ({Key}) but the model has no masking layer: put {{\"kind\": \"masking\"}} first in model.layers (or an embedding with mask_zero)");
        int t = data.Timesteps, f = data.Features;
        var x = data.X.Clone();
        for (int b = 0; b < lengths.Length; b++)
            x.Data.AsSpan((b * t + lengths[b]) * f, (t - lengths[b]) * f).Fill(maskValue);
        return data with { X = x };
    }
}
