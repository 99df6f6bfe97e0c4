namespace RnnCluster.Model;

/// <summary>A dense float32 array with a shape, C (row-major) order.</summary>
public sealed class Tensor
{
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {FormatShape(shape)}");
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape {FormatShape(shape)} holds {count} values, data has {data.Length}");
        Data = data;
        Shape = shape;
    }

    public float[] Data { get; }

    public int[] Shape { get; }

    public int Rank => Shape.Length;

    public int Length => Data.Length;

    public static Tensor Zeros(params int[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        return new Tensor(new float[count], shape);
    }

    public Tensor Clone() => new((float[])Data.Clone(), (int[])Shape.Clone());

    public bool ShapeEquals(params int[] shape) => Shape.AsSpan().SequenceEqual(shape);

    public override string ToString() => $"Tensor{FormatShape(Shape)}";

    public static string FormatShape(IReadOnlyList<int> shape) =>
        shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
}
