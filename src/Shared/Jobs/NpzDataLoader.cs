using System.Globalization;
using RnnCluster.Data;
using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>An npz file to a <see cref="Dataset"/>: x, y and the initial states <c>initial_state0</c>, <c>initial_state1</c>, ...</summary>
internal static class NpzDataLoader
{
    public static Dataset Load(DataSpec spec)
    {
        string path = spec.Path!;
        if (!File.Exists(path)) throw new JobException($"data file not found: {path}");
        IReadOnlyDictionary<string, NpyArray> arrays;
        try
        {
            arrays = Npz.ReadFile(path);
        }
        catch (FileNotFoundException)
        {
            throw new JobException($"data file not found: {path}");
        }
        catch (IOException e)
        {
            throw new JobException(e is NpyFormatException ? e.Message : $"{path}: {e.Message}");
        }

        NpyArray Get(string key, string field) => arrays.TryGetValue(key, out var a)
            ? a
            : throw new JobException($"{path}: no array '{key}' ({field}; the file holds {(arrays.Count == 0 ? "no arrays" : string.Join(", ", arrays.Keys))})");

        var xArray = Get(spec.EffectiveXKey, "data.x_key");
        // Token ids for an embedding: integers (samples, timesteps), one feature per step.
        bool tokens = xArray.Rank == 2 && xArray.DType is not (NpyDType.Float32 or NpyDType.Float64 or NpyDType.Bool);
        if (xArray.Rank != 3 && !tokens)
            throw new JobException($"{path}: {spec.EffectiveXKey} has shape {NpyArray.FormatShape(xArray.Shape)}; expected (samples, timesteps, features), or integer token ids (samples, timesteps)");
        var x = new Tensor(CheckFinite(xArray.ToFloats(), xArray, spec.EffectiveXKey, path), tokens ? [.. xArray.Shape, 1] : xArray.Shape);
        int n = x.Shape[0];
        if (n == 0) throw new JobException($"{path}: {spec.EffectiveXKey} has no rows");

        var yArray = Get(spec.EffectiveYKey, "data.y_key");
        if (yArray.Rank is < 1 or > 3)
            throw new JobException($"{path}: {spec.EffectiveYKey} has shape {NpyArray.FormatShape(yArray.Shape)}; expected (samples,), (samples, outputs) or (samples, timesteps, outputs)");
        if (yArray.Dim(0) != n)
            throw new JobException($"{path}: {spec.EffectiveXKey} has {n} rows but {spec.EffectiveYKey} has {yArray.Dim(0)}");
        var yShape = yArray.Rank == 1 ? [n, 1] : yArray.Shape;
        var y = new Tensor(CheckFinite(yArray.ToFloats(), yArray, spec.EffectiveYKey, path), yShape);

        var states = new List<Tensor>();
        for (int k = 0; arrays.TryGetValue($"initial_state{k}", out var s); k++)
        {
            string key = $"initial_state{k}";
            if (s.Rank != 2 || s.Dim(0) != n)
                throw new JobException($"{path}: {key} has shape {NpyArray.FormatShape(s.Shape)}; expected ({n}, units)");
            states.Add(new Tensor(CheckFinite(s.ToFloats(), s, key, path), s.Shape));
        }
        var stray = arrays.Keys.FirstOrDefault(k => k.StartsWith("initial_state", StringComparison.Ordinal)
            && !(int.TryParse(k.AsSpan("initial_state".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int slot) && slot < states.Count && k == $"initial_state{slot}"));
        if (stray is not null)
            throw new JobException($"{path}: array '{stray}' is not part of the sequence initial_state0, initial_state1, ... (initial_state{states.Count} is missing)");

        string stateText = states.Count == 0 ? "no initial states" : $"{states.Count} initial state(s)";
        var lengths = SequenceLengths.Read(arrays, n, x.Shape[1], path);
        string lengthText = lengths is null ? "" : $", lengths {lengths.Min()}..{lengths.Max()}";
        return new Dataset(x, y, states, $"{System.IO.Path.GetFileName(path)}: x {Tensor.FormatShape(x.Shape)}, y {Tensor.FormatShape(y.Shape)}, {stateText}{lengthText}") { Lengths = lengths };
    }

    private static float[] CheckFinite(float[] values, NpyArray array, string key, string path)
    {
        int rowLength = array.Rank == 0 || array.Dim(0) == 0 ? 1 : (int)(array.ElementCount / array.Dim(0));
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            string what = float.IsNaN(values[i]) ? "NaN" : "Inf";
            throw new JobException($"{path}: {what} in {key} at row {i / rowLength}");
        }
        return values;
    }
}
