using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Interop;

/// <summary>
/// The weights a model needs, layer by layer, in Keras's order (kernel, recurrent_kernel, bias
/// for a recurrent layer; kernel, bias for Dense), with our names and Keras's shapes, and the
/// lookup of a model's weights by those names. Interop readers fill it, writers read it.
/// </summary>
public sealed class ModelWeights
{
    private readonly Dictionary<string, Tensor> _values;

    public ModelWeights(ModelSpec spec, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        Spec = spec;
        Layout = LayoutOf(spec);
        _values = weights.ToDictionary(w => w.Key, w => w.Value);
        foreach (var w in Layout.SelectMany(l => l))
        {
            if (!_values.TryGetValue(w.Name, out var t)) throw new ModelException($"weight '{w.Name}' is missing");
            if (!t.ShapeEquals(w.Shape))
                throw new ModelException($"weight '{w.Name}' has shape {Tensor.FormatShape(t.Shape)}; expected {Tensor.FormatShape(w.Shape)}");
        }
    }

    public ModelSpec Spec { get; }

    /// <summary>Per layer, its weights in Keras's order.</summary>
    public IReadOnlyList<IReadOnlyList<WeightInfo>> Layout { get; }

    public Tensor this[string name] => _values[name];

    /// <summary>Every weight in layer order, as <see cref="Sequential.SetWeights"/> takes them.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> All =>
        [.. Layout.SelectMany(l => l).Select(w => new KeyValuePair<string, Tensor>(w.Name, _values[w.Name]))];

    public static ModelWeights Of(Sequential model) => new(model.Spec, model.GetWeights());

    /// <summary>Per layer, the weights a model of <paramref name="spec"/> has (names, shapes), in Keras's order.</summary>
    public static IReadOnlyList<IReadOnlyList<WeightInfo>> LayoutOf(ModelSpec spec)
    {
        var all = new Network(spec, new ManagedKernels()).Weights;
        var layers = new List<IReadOnlyList<WeightInfo>>(spec.Layers.Count);
        int next = 0;
        foreach (var l in spec.Layers)
        {
            int count = l.IsRecurrent ? 3 : 2;
            layers.Add([.. all.Skip(next).Take(count)]);
            next += count;
        }
        return layers;
    }

    /// <summary>Total number of parameters of layer <paramref name="index"/>.</summary>
    public static long ParameterCount(IReadOnlyList<WeightInfo> layer) => layer.Sum(w => (long)w.Length);
}
