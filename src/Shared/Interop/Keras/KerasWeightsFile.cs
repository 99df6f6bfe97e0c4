using PureHDF;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// Keras 3 <c>.weights.h5</c> files (<c>model.save_weights</c>, and <c>model.weights.h5</c> inside
/// a <c>.keras</c> archive), read and written with PureHDF. Layout (keras <c>saving_lib.py</c>):
/// the model's own (empty) <c>/vars</c>; per layer <c>/layers/&lt;snake_case class&gt;[_N]/vars</c>,
/// and for a recurrent layer its cell's <c>/layers/lstm/cell/vars</c>; inside a <c>vars</c> group
/// the variables are datasets <c>0</c>, <c>1</c>, ... (kernel, recurrent_kernel, bias; Dense:
/// kernel, bias), and the group's attribute <c>name</c> is the object's Keras name. Keras 3.0-3.3
/// wrote the same paths (with empty <c>vars</c> groups for objects without variables); Keras 2.13
/// wrote <c>/_layer_checkpoint_dependencies/...</c> instead of <c>/layers/...</c>. Both are read.
/// Legacy Keras 2 <c>.h5</c> files (<c>layer_names</c> attribute) go to <see cref="LegacyH5Weights"/>.
/// The optimizer's variables (<c>/optimizer/vars</c>) are neither read nor written.
/// </summary>
public static class KerasWeightsFile
{
    private const string Keras213Layers = "_layer_checkpoint_dependencies";

    /// <summary>Writes Keras 3's layout for a Sequential model (or a functional one with <paramref name="inputLayers"/> InputLayers, as <c>.keras</c> archives of functional models hold).</summary>
    public static void Write(string path, ModelWeights weights, string modelName = "sequential", IReadOnlyList<string>? inputLayerNames = null)
    {
        try
        {
            Build(weights, modelName, inputLayerNames).Write(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"cannot write {path}: {e.Message}");
        }
    }

    public static void Write(Stream stream, ModelWeights weights, string modelName = "sequential", IReadOnlyList<string>? inputLayerNames = null) =>
        Build(weights, modelName, inputLayerNames).Write(stream);

    /// <summary>Reads the weights of a model of <paramref name="spec"/> from any supported HDF5 weights layout.</summary>
    public static ModelWeights Read(string path, ModelSpec spec)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file not found: {path}");
        using var file = Open(path);
        return Read(file, spec, path);
    }

    public static ModelWeights Read(Stream stream, ModelSpec spec, string source)
    {
        using var file = H5File.Open(stream, leaveOpen: true);
        return Read(file, spec, source);
    }

    internal static PureHDF.VOL.Native.NativeFile Open(string path)
    {
        try
        {
            return H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new ModelException($"{path}: not an HDF5 file ({e.Message})");
        }
    }

    /// <summary>Which layout a file has: <c>keras3</c>, <c>keras2.13</c> or <c>legacy</c>; null when it holds no Keras weights.</summary>
    public static string? LayoutOf(IH5Group file)
    {
        if (file.LinkExists("layers")) return "keras3";
        if (file.LinkExists(Keras213Layers)) return "keras2.13";
        if (file.AttributeExists("layer_names") || file.LinkExists("model_weights")) return "legacy";
        return null;
    }

    internal static ModelWeights Read(IH5Group file, ModelSpec spec, string source)
    {
        var layout = LayoutOf(file) ?? throw new ModelException($"{source}: no Keras weights in this HDF5 file (no /layers group, no layer_names attribute)");
        if (layout == "legacy") return LegacyH5Weights.Read(file, spec, source);
        var root = file.Group(layout == "keras3" ? "layers" : Keras213Layers);
        var paths = KerasNames.LayerPaths(spec);
        var expected = ModelWeights.LayoutOf(spec);
        var values = new List<KeyValuePair<string, Tensor>>();
        var seen = new HashSet<string>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var layer = spec.Layers[i];
            var groupName = paths[i]["layers/".Length..];
            seen.Add(groupName);
            if (!root.LinkExists(groupName))
                throw new ModelException($"{source}: no group {root.Name}/{groupName} for layer {i} ({KerasNames.ClassName(layer.Kind)}); the file has {Describe(root)}");
            var group = root.Group(groupName);
            var vars = layer.IsRecurrent && group.LinkExists("cell") && group.Group("cell").LinkExists("vars")
                ? group.Group("cell").Group("vars")
                : group.LinkExists("vars") ? group.Group("vars") : null;
            var where = $"{root.Name}/{groupName}" + (layer.IsRecurrent ? "/cell/vars" : "/vars");
            var arrays = vars is null ? [] : Datasets(vars);
            if (arrays.Count != expected[i].Count)
                throw new ModelException($"{source}: {where} holds {arrays.Count} array(s); layer {i} ({KerasNames.ClassName(layer.Kind)}) has {expected[i].Count} ({string.Join(", ", expected[i].Select(w => ShortName(w.Name)))})");
            for (int k = 0; k < arrays.Count; k++)
                values.Add(new(expected[i][k].Name, H5Arrays.ReadWeight(arrays[k], expected[i][k], i, layer, $"{source}: {where}/{k}")));
        }
        foreach (var child in root.Children())
            if (child is IH5Group g && !seen.Contains(child.Name) && HasVariables(g))
                throw new ModelException($"{source}: {root.Name}/{child.Name} holds weights, but the model has no such layer (its layers: {string.Join(", ", paths)})");
        return new ModelWeights(spec, values);
    }

    private static H5File Build(ModelWeights weights, string modelName, IReadOnlyList<string>? inputLayerNames)
    {
        var spec = weights.Spec;
        var layers = new H5Group();
        var used = new Dictionary<string, int>();
        foreach (var name in inputLayerNames ?? [])
            layers[KerasNames.Unique("input_layer", used)] = new H5Group { ["vars"] = Vars(name) };
        var classUsed = new Dictionary<string, int>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            var group = KerasNames.Unique(KerasNames.SnakeCase(KerasNames.ClassName(l.Kind)), classUsed);
            var vars = Vars(spec.LayerName(i));
            var tensors = weights.Layout[i].Select(w => weights[w.Name]).ToList();
            if (l.IsRecurrent)
            {
                var cellVars = Vars(KerasNames.CellName(l.Kind));
                for (int k = 0; k < tensors.Count; k++) cellVars[k.ToString(System.Globalization.CultureInfo.InvariantCulture)] = H5Arrays.Dataset(tensors[k]);
                layers[group] = new H5Group { ["vars"] = vars, ["cell"] = new H5Group { ["vars"] = cellVars } };
            }
            else
            {
                for (int k = 0; k < tensors.Count; k++) vars[k.ToString(System.Globalization.CultureInfo.InvariantCulture)] = H5Arrays.Dataset(tensors[k]);
                layers[group] = new H5Group { ["vars"] = vars };
            }
        }
        return new H5File { ["vars"] = Vars(modelName), ["layers"] = layers };
    }

    private static H5Group Vars(string name) => new() { Attributes = new() { ["name"] = name } };

    /// <summary>The datasets <c>0</c>, <c>1</c>, ... of a <c>vars</c> group, in index order.</summary>
    internal static List<IH5Dataset> Datasets(IH5Group vars)
    {
        var list = new List<IH5Dataset>();
        for (int k = 0; vars.LinkExists(k.ToString(System.Globalization.CultureInfo.InvariantCulture)); k++)
            list.Add(vars.Dataset(k.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return list;
    }

    private static bool HasVariables(IH5Group group) =>
        group.Children().Any(c => c is IH5Dataset || (c is IH5Group g && HasVariables(g)));

    private static string Describe(IH5Group root)
    {
        var names = root.Children().OfType<IH5Group>().Select(c => c.Name).ToList();
        return names.Count == 0 ? "no layer groups" : string.Join(", ", names);
    }

    /// <summary><c>layer0.kernel</c> to <c>kernel</c>.</summary>
    internal static string ShortName(string name) => name[(name.LastIndexOf('.') + 1)..];
}
