using Google.Protobuf;
using RnnCluster.Interop.Onnx.Proto;
using RnnCluster.Model;
using static RnnCluster.Interop.Onnx.OnnxGraphBuilder;

namespace RnnCluster.Interop.Onnx;

/// <summary>
/// A model as an ONNX graph (opset 14) for ONNX Runtime and other servers. Inputs: <c>x</c>
/// (batch, timesteps, features) and, per state slot, <c>{layer}.initial_state{s}</c> (batch,
/// units) (s = 0: h, 1: c; zeros for a fresh start). Outputs: <c>prediction</c> and
/// <c>{layer}.final_state{s}</c>, so a stateful model is served batch after batch by feeding the
/// final states back as the next initial states. Recurrent layers are ONNX LSTM/GRU/RNN nodes
/// with <c>layout=0</c> (time-major; ONNX Runtime's CPU kernels reject layout=1) between
/// transposes; go_backwards reverses the time axis (Slice with step -1) and runs forward, so
/// sequences come out in processed order as Keras returns them; Dense is MatMul + Add and its
/// activation. Batch and timesteps are symbolic dimensions.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 14;

    /// <summary>IR version 8 (ONNX 1.10-1.12) holds opset 14 and is what Debian's onnx 1.12 checker knows.</summary>
    public const int IrVersion = 8;

    public const string InputName = "x";
    public const string OutputName = "prediction";

    public static string InitialStateName(ModelSpec spec, StateSlot slot) => $"{spec.LayerName(slot.LayerIndex)}.initial_state{slot.StateIndex}";

    public static string FinalStateName(ModelSpec spec, StateSlot slot) => $"{spec.LayerName(slot.LayerIndex)}.final_state{slot.StateIndex}";

    public static void Write(string path, ModelWeights weights)
    {
        var bytes = ToBytes(weights);
        try
        {
            File.WriteAllBytes(path, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"cannot write {path}: {e.Message}");
        }
    }

    public static byte[] ToBytes(ModelWeights weights) => Build(weights).ToByteArray();

    internal static ModelProto Build(ModelWeights weights)
    {
        var spec = weights.Spec;
        var g = new OnnxGraphBuilder("rnncluster");
        g.Input(InputName, "batch", "timesteps", spec.InputFeatures);
        var axis0 = g.Int64s("axes_0", 0);
        var axis1 = g.Int64s("axes_1", 1);
        string? reverse = null;

        var current = g.Node("Transpose", [InputName], "x_time_major", Ints("perm", 1, 0, 2));
        bool sequence = true;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var layer = spec.Layers[i];
            var name = spec.LayerName(i);
            var w = weights.Layout[i];
            if (!layer.IsRecurrent)
            {
                var k = weights[w[0].Name];
                var b = weights[w[1].Name];
                var product = g.Node("MatMul", [current, g.Floats(w[0].Name, k.Data, k.Shape[0], k.Shape[1])]);
                current = g.Node("Add", [product, g.Floats(w[1].Name, b.Data, b.Shape[0])]);
                current = ActivationNames.Parse(layer.Activation) switch
                {
                    Activation.Linear => current,
                    Activation.Tanh => g.Node("Tanh", [current]),
                    Activation.Relu => g.Node("Relu", [current]),
                    Activation.Sigmoid => g.Node("Sigmoid", [current]),
                    Activation.Softmax => g.Node("Softmax", [current], null, Int("axis", -1)),
                    var a => throw new ModelException($"layer {i} (dense): activation {a} has no ONNX export"),
                };
                continue;
            }

            int h = layer.Units;
            int states = layer.Kind == LayerKinds.Lstm ? 2 : 1;
            if (layer.GoBackwards)
            {
                reverse ??= DeclareReverse(g);
                current = g.Node("Slice", [current, "reverse_starts", "reverse_ends", axis0, "reverse_steps"], $"{name}_reversed_input");
            }
            var blocks = OnnxGates.KerasBlockOf(layer.Kind);
            var kernel = weights[w[0].Name];
            var recurrent = weights[w[1].Name];
            var bias = weights[w[2].Name];
            int gates = blocks.Length * h;
            var inputs = new List<string>
            {
                current,
                g.Floats($"{name}.W", OnnxGates.Transposed(kernel, h, blocks), 1, gates, kernel.Shape[0]),
                g.Floats($"{name}.R", OnnxGates.Transposed(recurrent, h, blocks), 1, gates, h),
                g.Floats($"{name}.B", OnnxGates.Bias(bias, h, blocks), 1, 2 * gates),
                "", // sequence_lens: every sequence runs the whole length
            };
            for (int s = 0; s < states; s++)
            {
                var slot = new StateSlot(i, s, h);
                g.Input(InitialStateName(spec, slot), "batch", h);
                inputs.Add(g.Node("Unsqueeze", [InitialStateName(spec, slot), axis0], $"{name}_initial_{s}"));
            }
            var attributes = new List<AttributeProto> { Int("hidden_size", h), String("direction", "forward"), Int("layout", 0) };
            string op = layer.Kind switch { LayerKinds.Lstm => "LSTM", LayerKinds.Gru => "GRU", _ => "RNN" };
            if (layer.Kind == LayerKinds.Gru) attributes.Add(Int("linear_before_reset", 1));
            if (layer.Kind == LayerKinds.SimpleRnn)
                attributes.Add(Strings("activations", ActivationNames.Parse(layer.Activation ?? "tanh") == Activation.Relu ? "Relu" : "Tanh"));
            var outputs = new List<string> { $"{name}_Y", $"{name}_Y_h" };
            if (states == 2) outputs.Add($"{name}_Y_c");
            g.NodeN(op, inputs, outputs, [.. attributes]);
            for (int s = 0; s < states; s++)
            {
                var slot = new StateSlot(i, s, h);
                g.Node("Squeeze", [outputs[1 + s], axis0], FinalStateName(spec, slot));
                g.Output(FinalStateName(spec, slot), "batch", h);
            }
            // Y is (T, 1, B, H); without return_sequences the layer's output is its last h.
            current = layer.ReturnSequences ? g.Node("Squeeze", [outputs[0], axis1], $"{name}_sequence") : FinalStateName(spec, new StateSlot(i, 0, h));
            sequence = layer.ReturnSequences;
        }
        if (sequence)
        {
            g.Node("Transpose", [current], OutputName, Ints("perm", 1, 0, 2));
            g.Output(OutputName, "batch", "timesteps", spec.OutputWidth);
        }
        else
        {
            g.Node("Identity", [current], OutputName);
            g.Output(OutputName, "batch", spec.OutputWidth);
        }
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "rnncluster",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = "RnnCluster model (Keras semantics): inputs x and the initial states, outputs the prediction and the final states",
            Graph = g.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    /// <summary>Slice parameters that reverse axis 0: from the last element to before the first, step -1.</summary>
    private static string DeclareReverse(OnnxGraphBuilder g)
    {
        g.Int64s("reverse_starts", -1);
        g.Int64s("reverse_ends", long.MinValue);
        g.Int64s("reverse_steps", -1);
        return "reverse";
    }
}
