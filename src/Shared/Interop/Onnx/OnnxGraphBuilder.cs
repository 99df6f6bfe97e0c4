using System.Runtime.InteropServices;
using Google.Protobuf;
using RnnCluster.Interop.Onnx.Proto;

namespace RnnCluster.Interop.Onnx;

/// <summary>Adds nodes, initializers, inputs and outputs to an ONNX graph, with unique value names.</summary>
internal sealed class OnnxGraphBuilder(string name)
{
    private int _next;

    public GraphProto Graph { get; } = new() { Name = name };

    /// <summary>A new value name with a readable prefix.</summary>
    public string Value(string prefix) => $"{prefix}_{_next++}";

    public string Node(string op, IEnumerable<string> inputs, string? output = null, params AttributeProto[] attributes) =>
        NodeN(op, inputs, [output ?? Value(op.ToLowerInvariant())], attributes)[0];

    public string[] NodeN(string op, IEnumerable<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_next++}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return [.. outputs];
    }

    public string Floats(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    public string Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        return name;
    }

    public void Input(string name, params object[] dims) => Graph.Input.Add(FloatValue(name, dims));

    public void Output(string name, params object[] dims) => Graph.Output.Add(FloatValue(name, dims));

    /// <summary>A float tensor's type and shape; a dimension is a number or a symbolic name.</summary>
    private static ValueInfoProto FloatValue(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Strings(string name, params string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }
}
