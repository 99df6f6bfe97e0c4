using PureHDF;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// Legacy Keras 2 HDF5 weights (<c>save_weights('w.h5')</c>, or the <c>/model_weights</c> group of a
/// whole-model <c>.h5</c>): attribute <c>layer_names</c> lists the layers in order, each layer's
/// group lists its arrays in attribute <c>weight_names</c> (<c>lstm/lstm_cell/kernel:0</c>, a
/// dataset path inside that group). As Keras does, layers are matched by position: the file's
/// layers that have weights, in order, to the model's layers.
/// </summary>
public static class LegacyH5Weights
{
    internal static ModelWeights Read(IH5Group file, ModelSpec spec, string source)
    {
        var root = file.LinkExists("model_weights") ? file.Group("model_weights") : file;
        if (!root.AttributeExists("layer_names")) throw new ModelException($"{source}: legacy Keras weights without a layer_names attribute");
        var names = Strings(root.Attribute("layer_names"));
        var withWeights = new List<(string Layer, string[] Weights)>();
        foreach (var name in names)
        {
            if (!root.LinkExists(name)) throw new ModelException($"{source}: layer_names lists '{name}', but the file has no such group");
            var g = root.Group(name);
            var weights = g.AttributeExists("weight_names") ? Strings(g.Attribute("weight_names")) : [];
            if (weights.Length > 0) withWeights.Add((name, weights));
        }
        var expected = ModelWeights.LayoutOf(spec);
        if (withWeights.Count != spec.Layers.Count)
            throw new ModelException($"{source}: the file has {withWeights.Count} layer(s) with weights ({string.Join(", ", withWeights.Select(w => w.Layer))}); the model has {spec.Layers.Count}");
        var values = new List<KeyValuePair<string, Tensor>>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var (layerName, weightNames) = withWeights[i];
            var layer = spec.Layers[i];
            if (weightNames.Length != expected[i].Count)
                throw new ModelException($"{source}: layer '{layerName}' has {weightNames.Length} array(s) ({string.Join(", ", weightNames)}); layer {i} of the model ({KerasNames.ClassName(layer.Kind)}) has {expected[i].Count}");
            var g = root.Group(layerName);
            for (int k = 0; k < weightNames.Length; k++)
            {
                var where = $"{source}: {layerName}/{weightNames[k]}";
                if (!g.LinkExists(weightNames[k])) throw new ModelException($"{where}: listed in weight_names but missing");
                values.Add(new(expected[i][k].Name, H5Arrays.ReadWeight(g.Dataset(weightNames[k]), expected[i][k], i, layer, where)));
            }
        }
        return new ModelWeights(spec, values);
    }

    /// <summary>The names in a legacy file's order (layers with and without weights), with their weight names.</summary>
    public static IReadOnlyList<(string Layer, IReadOnlyList<(string Name, int[] Shape)> Weights)> Describe(IH5Group file)
    {
        var root = file.LinkExists("model_weights") ? file.Group("model_weights") : file;
        var result = new List<(string, IReadOnlyList<(string, int[])>)>();
        foreach (var name in Strings(root.Attribute("layer_names")))
        {
            var g = root.Group(name);
            var weights = g.AttributeExists("weight_names") ? Strings(g.Attribute("weight_names")) : [];
            result.Add((name, [.. weights.Select(w => (w, H5Arrays.Shape(g.Dataset(w))))]));
        }
        return result;
    }

    /// <summary>A string-array attribute: Keras 2 writes fixed-length byte strings, h5py may write variable-length ones.</summary>
    internal static string[] Strings(IH5Attribute attribute)
    {
        if (attribute.Space.Type == H5DataspaceType.Null) return [];
        if (attribute.Space.Type == H5DataspaceType.Scalar) return [attribute.Read<string>()];
        return attribute.Read<string[]>();
    }
}
