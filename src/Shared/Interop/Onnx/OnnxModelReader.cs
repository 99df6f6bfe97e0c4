using RnnCluster.Interop.Onnx.Proto;
using RnnCluster.Model;

namespace RnnCluster.Interop.Onnx;

/// <summary>
/// Reads back the layer stack of an ONNX file shaped as <see cref="OnnxExporter"/> writes it
/// (LSTM/GRU/RNN nodes, MatMul + Add for Dense, their activations), for <c>rnncluster summary</c>.
/// Another graph is refused naming the first operator that does not fit.
/// </summary>
public static class OnnxModelReader
{
    private static readonly HashSet<string> Plumbing = ["Transpose", "Unsqueeze", "Squeeze", "Identity", "Slice"];

    public static ModelDescription Describe(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new ModelException($"{path}: not an ONNX model ({e.Message})");
        }
        var graph = model.Graph ?? throw new ModelException($"{path}: the ONNX model has no graph");
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var x = graph.Input.FirstOrDefault(i => i.Name == OnnxExporter.InputName) ?? graph.Input.FirstOrDefault()
            ?? throw new ModelException($"{path}: the graph has no inputs");
        var xDims = x.Type.TensorType.Shape.Dim;
        if (xDims.Count != 3 || xDims[2].DimValue < 1) throw new ModelException($"{path}: input '{x.Name}' is not (batch, timesteps, features) with known features");
        int? timesteps = xDims[1].DimValue > 0 ? (int)xDims[1].DimValue : null;
        var layers = new List<LayerSpec>();
        var reversed = new HashSet<string>();
        var sequences = new HashSet<string>();
        foreach (var node in graph.Node)
        {
            switch (node.OpType)
            {
                case "Slice":
                    reversed.Add(node.Output[0]);
                    break;
                case "LSTM" or "GRU" or "RNN":
                    var hidden = (int)Attr(node, "hidden_size")!.I;
                    var direction = Attr(node, "direction")?.S.ToStringUtf8() ?? "forward";
                    if (direction != "forward") throw new ModelException($"{path}: {node.OpType} node '{node.Name}' has direction={direction}; only forward is supported");
                    if (Attr(node, "layout") is { I: not 0 }) throw new ModelException($"{path}: {node.OpType} node '{node.Name}' has layout=1");
                    if (node.OpType == "GRU" && Attr(node, "linear_before_reset") is not { I: 1 })
                        throw new ModelException($"{path}: GRU node '{node.Name}' has linear_before_reset=0 (Keras reset_after=False), which is not supported");
                    string? activation = null;
                    if (node.OpType == "RNN" && Attr(node, "activations") is { } acts && acts.Strings.Count > 0)
                        activation = acts.Strings[0].ToStringUtf8().ToLowerInvariant();
                    layers.Add(new LayerSpec
                    {
                        Kind = node.OpType switch { "LSTM" => LayerKinds.Lstm, "GRU" => LayerKinds.Gru, _ => LayerKinds.SimpleRnn },
                        Units = hidden,
                        Activation = activation,
                        GoBackwards = reversed.Contains(node.Input[0]),
                    });
                    sequences.Add(node.Output[0]);
                    break;
                case "Squeeze" when sequences.Contains(node.Input[0]):
                    layers[^1] = layers[^1] with { ReturnSequences = true };
                    break;
                case "MatMul":
                    var w = initializers.GetValueOrDefault(node.Input[1]) ?? throw new ModelException($"{path}: MatMul node '{node.Name}' multiplies by a non-constant");
                    layers.Add(new LayerSpec { Kind = LayerKinds.Dense, Units = (int)w.Dims[^1], Activation = "linear" });
                    break;
                case "Add" when layers.Count > 0 && layers[^1].Kind == LayerKinds.Dense:
                    break;
                case "Tanh" or "Relu" or "Sigmoid" or "Softmax" when layers.Count > 0 && layers[^1].Kind == LayerKinds.Dense:
                    layers[^1] = layers[^1] with { Activation = node.OpType.ToLowerInvariant() };
                    break;
                case var op when Plumbing.Contains(op):
                    break;
                default:
                    throw new ModelException($"{path}: operator {node.OpType} (node '{node.Name}') is not one rnncluster reads (LSTM, GRU, RNN, MatMul, Add, activations)");
            }
        }
        var spec = new ModelSpec { InputFeatures = (int)xDims[2].DimValue, Layers = layers };
        try
        {
            spec.Validate();
        }
        catch (ModelException e)
        {
            throw new ModelException($"{path}: {e.Message}");
        }
        var inputs = graph.Input.Select(i => i.Name).Where(n => n != x.Name && !initializers.ContainsKey(n)).ToList();
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        return new ModelDescription(graph.Name, $"ONNX, opset {opset}, IR version {model.IrVersion}, producer {model.ProducerName}", spec)
        {
            Timesteps = timesteps,
            InputName = x.Name,
            StateSources = [.. inputs],
        };
    }

    private static AttributeProto? Attr(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);
}
