namespace RnnCluster.Model;

/// <summary>
/// The flat parameter vector and the weights by Keras name and shape (<c>layer0.kernel</c>,
/// <c>dense.bias</c>, ...), both ways, in the layout <see cref="Network.Weights"/> gives. The one
/// mapping the model, the job actor and the tests use.
/// </summary>
public static class NamedWeights
{
    /// <summary>Each weight of <paramref name="parameters"/>, copied, by name and shape in layer order.</summary>
    public static List<KeyValuePair<string, Tensor>> FromFlat(Network network, ReadOnlySpan<float> parameters)
    {
        if (parameters.Length != network.ParameterCount)
            throw new ModelException($"parameter vector has {parameters.Length} values; this model has {network.ParameterCount}");
        var weights = new List<KeyValuePair<string, Tensor>>(network.Weights.Count);
        foreach (var w in network.Weights)
            weights.Add(new(w.Name, new Tensor(parameters.Slice(w.Offset, w.Length).ToArray(), (int[])w.Shape.Clone())));
        return weights;
    }

    /// <summary>A new flat parameter vector from weights by name: every weight of the model exactly once, with its shape.</summary>
    /// <exception cref="ModelException">A weight is missing, unknown, given twice or of another shape (the message names it).</exception>
    public static float[] ToFlat(Network network, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        var given = new Dictionary<string, Tensor>();
        foreach (var (name, value) in weights)
        {
            if (!given.TryAdd(name, value)) throw new ModelException($"weight '{name}' is given twice");
        }
        var flat = new float[network.ParameterCount];
        foreach (var w in network.Weights)
        {
            if (!given.Remove(w.Name, out var t)) throw new ModelException($"weight '{w.Name}' is missing");
            if (!t.ShapeEquals(w.Shape))
                throw new ModelException($"weight '{w.Name}' has shape {Tensor.FormatShape(t.Shape)}; expected {Tensor.FormatShape(w.Shape)}");
            t.Data.AsSpan(0, w.Length).CopyTo(flat.AsSpan(w.Offset));
        }
        if (given.Count > 0)
            throw new ModelException($"unknown weight '{given.Keys.First()}' (this model has {string.Join(", ", network.Weights.Select(w => w.Name))})");
        return flat;
    }
}
