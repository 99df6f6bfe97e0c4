using PureHDF;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>Weights between tensors and HDF5 datasets: float32 written, float32 or float64 read, shapes checked against the model.</summary>
internal static class H5Arrays
{
    public static H5Dataset Dataset(Tensor t) =>
        new(t.Data, fileDims: [.. t.Shape.Select(d => (ulong)d)]);

    public static int[] Shape(IH5Dataset d) => [.. d.Space.Dimensions.Select(x => checked((int)x))];

    /// <summary>Reads a dataset as float32 (float64 is narrowed); other types are refused.</summary>
    public static float[] ReadFloats(IH5Dataset d, string where)
    {
        if (d.Type.Class != H5DataTypeClass.FloatingPoint)
            throw new ModelException($"{where}: data type {d.Type.Class} is not supported (expected float32 or float64)");
        return d.Type.Size switch
        {
            4 => d.Read<float[]>(),
            8 => [.. d.Read<double[]>().Select(v => (float)v)],
            _ => throw new ModelException($"{where}: {d.Type.Size * 8}-bit floats are not supported (expected float32 or float64)"),
        };
    }

    /// <summary>Reads one weight and checks its shape against what layer <paramref name="index"/> needs.</summary>
    public static Tensor ReadWeight(IH5Dataset d, WeightInfo expected, int index, LayerSpec layer, string where)
    {
        var shape = Shape(d);
        if (!shape.AsSpan().SequenceEqual(expected.Shape))
        {
            var hint = layer.Kind == LayerKinds.Gru && expected.Shape.Length == 2 && shape.Length == 1 && shape[0] == expected.Shape[1]
                ? " (a GRU bias of shape (3*units,) is reset_after=False, which is not supported)"
                : "";
            throw new ModelException($"{where} ({KerasNames.ClassName(layer.Kind)} layer {index} {KerasWeightsFile.ShortName(expected.Name)}) has shape {Tensor.FormatShape(shape)}; the model expects {Tensor.FormatShape(expected.Shape)}{hint}");
        }
        return new Tensor(ReadFloats(d, where), [.. shape]);
    }
}
