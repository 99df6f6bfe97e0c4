using System.Text.RegularExpressions;
using PureHDF;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// The layer stack of a Keras HDF5 file, for <c>rnncluster summary</c>: from its model config
/// when it has one (a Keras 2 whole-model <c>.h5</c>), else worked out from the weights alone:
/// the kind from the number of arrays and the gate multiple (kernel width / units: 1 SimpleRNN,
/// 3 GRU, 4 LSTM; two arrays: Dense), the order from <c>layer_names</c> (legacy files) or, for
/// Keras 3 files, whose groups are named by class, by chaining each layer's input width to the
/// previous layer's units. What weights do not record (activations, return_sequences of the
/// last recurrent layer, go_backwards) is said in a note.
/// </summary>
public static partial class WeightsOnlySpec
{
    private sealed record Entry(string Name, string Kind, int Index, int InputWidth, int Units);

    public static ModelDescription Describe(IH5Group file, string source)
    {
        var layout = KerasWeightsFile.LayoutOf(file) ?? throw new ModelException($"{source}: no Keras weights in this HDF5 file (no /layers group, no layer_names attribute)");
        if (file.AttributeExists("model_config"))
        {
            var config = LegacyH5Weights.Strings(file.Attribute("model_config"))[0];
            var k = KerasConfigReader.Read(config, source);
            return new ModelDescription(k.Name, "Keras 2 HDF5 model (model_config, model_weights)", k.Spec) { Timesteps = k.Timesteps };
        }
        var entries = layout == "legacy" ? Legacy(file, source) : Chained(Keras3(file, layout, source), source);
        if (entries.Count == 0) throw new ModelException($"{source}: the file holds no layer weights");
        int lastRecurrent = entries.FindLastIndex(e => e.Kind != LayerKinds.Dense);
        var layers = entries.Select((e, i) => new LayerSpec
        {
            Kind = e.Kind,
            Units = e.Units,
            ReturnSequences = e.Kind != LayerKinds.Dense && i < lastRecurrent,
            Name = e.Name,
        }).ToList();
        var spec = new ModelSpec { InputFeatures = entries[0].InputWidth, Layers = layers };
        try
        {
            spec.Validate();
        }
        catch (ModelException e)
        {
            throw new ModelException($"{source}: the weights do not make a supported layer stack: {e.Message}");
        }
        var format = layout switch { "keras3" => "Keras 3 weights (.weights.h5)", "keras2.13" => "Keras 2.13 weights (.weights.h5)", _ => "Keras 2 HDF5 weights (layer_names)" };
        return new ModelDescription(Path.GetFileNameWithoutExtension(source), format, spec)
        {
            Notes = ["weights only: activations, go_backwards and the last recurrent layer's return_sequences are not recorded (shown as the defaults)"],
        };
    }

    private static List<Entry> Legacy(IH5Group file, string source)
    {
        var entries = new List<Entry>();
        foreach (var (layer, weights) in LegacyH5Weights.Describe(file))
            if (weights.Count > 0) entries.Add(FromShapes(layer, [.. weights.Select(w => w.Shape)], entries.Count, source));
        return entries;
    }

    private static List<Entry> Keras3(IH5Group file, string layout, string source)
    {
        var root = file.Group(layout == "keras3" ? "layers" : "_layer_checkpoint_dependencies");
        var entries = new List<Entry>();
        foreach (var child in root.Children().OfType<IH5Group>())
        {
            var match = GroupName().Match(child.Name);
            var kind = KerasNames.KindOf(ClassOf(match.Groups[1].Value));
            if (match.Groups[1].Value == "input_layer") continue;
            var vars = child.LinkExists("cell") ? child.Group("cell").Group("vars") : child.LinkExists("vars") ? child.Group("vars") : null;
            var arrays = vars is null ? [] : KerasWeightsFile.Datasets(vars);
            if (arrays.Count == 0) continue;
            if (kind is null) throw new ModelException($"{source}: layer group '{child.Name}' is not a supported layer (supported: simple_rnn, lstm, gru, dense)");
            int index = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var e = FromShapes(child.Name, [.. arrays.Select(H5Arrays.Shape)], index, source);
            if (e.Kind != kind) throw new ModelException($"{source}: group '{child.Name}' holds weights shaped for {KerasNames.ClassName(e.Kind)}");
            entries.Add(e);
        }
        return entries;
    }

    /// <summary>Orders per-class lists (lstm, lstm_1, ...) into one stack whose widths chain; the first chain found wins.</summary>
    private static List<Entry> Chained(List<Entry> entries, string source)
    {
        var queues = entries.GroupBy(e => e.Kind).Select(g => g.OrderBy(e => e.Index).ToList()).ToList();
        var order = new List<Entry>();
        var heads = new int[queues.Count];
        bool Search(int? width)
        {
            if (order.Count == entries.Count) return true;
            for (int q = 0; q < queues.Count; q++)
            {
                if (heads[q] >= queues[q].Count) continue;
                var e = queues[q][heads[q]];
                if (width is { } w && e.InputWidth != w) continue;
                order.Add(e);
                heads[q]++;
                if (Search(e.Units)) return true;
                heads[q]--;
                order.RemoveAt(order.Count - 1);
            }
            return false;
        }
        if (!Search(null)) throw new ModelException($"{source}: the layers' weight shapes do not chain into one stack");
        return order;
    }

    private static Entry FromShapes(string name, int[][] shapes, int index, string source)
    {
        if (shapes.Length == 2 && shapes[0].Length == 2) return new Entry(name, LayerKinds.Dense, index, shapes[0][0], shapes[0][1]);
        if (shapes.Length == 3 && shapes[0].Length == 2 && shapes[1].Length == 2)
        {
            int units = shapes[1][0], gates = shapes[0][1] / units;
            var kind = gates switch { 1 => LayerKinds.SimpleRnn, 3 => LayerKinds.Gru, 4 => LayerKinds.Lstm, _ => null };
            if (kind is not null && shapes[0][1] == gates * units) return new Entry(name, kind, index, shapes[0][0], units);
        }
        throw new ModelException($"{source}: layer '{name}' has weights of shapes {string.Join(", ", shapes.Select(s => Tensor.FormatShape(s)))}, which are not a SimpleRNN, LSTM, GRU or Dense");
    }

    private static string ClassOf(string snake) => snake switch
    {
        "simple_rnn" => "SimpleRNN",
        "lstm" => "LSTM",
        "gru" => "GRU",
        "dense" => "Dense",
        _ => snake,
    };

    [GeneratedRegex(@"^([a-z_]+?)(?:_(\d+))?$")]
    private static partial Regex GroupName();
}
