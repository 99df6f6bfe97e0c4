using RnnCluster.Data;

namespace RnnCluster.Model;

/// <summary>
/// Weights as <c>.npz</c> in Keras's layout, named as the parity fixtures are
/// (<c>layer0.kernel</c>, <c>layer0.recurrent_kernel</c>, <c>layer0.bias</c>, <c>dense.kernel</c>, ...).
/// Saved files are byte-identical for identical weights.
/// </summary>
public static class WeightsFile
{
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> weights) =>
        Npz.WriteFile(path, weights.Select(w => new KeyValuePair<string, NpyArray>(w.Key, NpyArray.FromFloats(w.Value.Data, w.Value.Shape))));

    /// <summary>Reads every array of an npz as float32 weights (any numeric dtype is converted).</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Load(string path) =>
        [.. Npz.ReadFile(path).Select(p => new KeyValuePair<string, Tensor>(p.Key, new Tensor(p.Value.ToFloats(), p.Value.Shape)))];

    public static void Save(this Sequential model, string path) => Save(path, model.GetWeights());

    public static void LoadInto(this Sequential model, string path)
    {
        var weights = Load(path);
        var known = model.Network.Weights.Select(w => w.Name).ToHashSet();
        // Parity fixtures and checkpoints may carry other arrays (data, expected values): take the model's own.
        model.SetWeights(weights.Where(w => known.Contains(w.Key)));
    }
}
