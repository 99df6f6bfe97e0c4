using System.Globalization;
using System.Numerics;
using System.Text;

namespace RnnCluster.Data;

/// <summary>The element types an <see cref="NpyArray"/> can hold (numpy's names in brackets in <see cref="NpyDTypeInfo.NumpyName"/>).</summary>
public enum NpyDType
{
    Float32,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Bool,
}

/// <summary>Facts about each <see cref="NpyDType"/>: element size, .NET element type, numpy name.</summary>
public static class NpyDTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int ItemSize(this NpyDType dtype) => dtype switch
    {
        NpyDType.Float32 => 4,
        NpyDType.Float64 => 8,
        NpyDType.Int8 => 1,
        NpyDType.Int16 => 2,
        NpyDType.Int32 => 4,
        NpyDType.Int64 => 8,
        NpyDType.UInt8 => 1,
        NpyDType.UInt16 => 2,
        NpyDType.UInt32 => 4,
        NpyDType.UInt64 => 8,
        NpyDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown NpyDType"),
    };

    /// <summary>The .NET element type of <see cref="NpyArray.Data"/> for this dtype (float, double, sbyte, short, int, long, byte, ushort, uint, ulong, bool).</summary>
    public static Type ElementType(this NpyDType dtype) => dtype switch
    {
        NpyDType.Float32 => typeof(float),
        NpyDType.Float64 => typeof(double),
        NpyDType.Int8 => typeof(sbyte),
        NpyDType.Int16 => typeof(short),
        NpyDType.Int32 => typeof(int),
        NpyDType.Int64 => typeof(long),
        NpyDType.UInt8 => typeof(byte),
        NpyDType.UInt16 => typeof(ushort),
        NpyDType.UInt32 => typeof(uint),
        NpyDType.UInt64 => typeof(ulong),
        NpyDType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown NpyDType"),
    };

    /// <summary>numpy's name for the dtype: float32, float64, int8 ... uint64, bool.</summary>
    public static string NumpyName(this NpyDType dtype) => dtype switch
    {
        NpyDType.Float32 => "float32",
        NpyDType.Float64 => "float64",
        NpyDType.Int8 => "int8",
        NpyDType.Int16 => "int16",
        NpyDType.Int32 => "int32",
        NpyDType.Int64 => "int64",
        NpyDType.UInt8 => "uint8",
        NpyDType.UInt16 => "uint16",
        NpyDType.UInt32 => "uint32",
        NpyDType.UInt64 => "uint64",
        NpyDType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown NpyDType"),
    };

    /// <summary>The little-endian descr string written to .npy headers ('&lt;f4', '|u1', '|b1', ...).</summary>
    public static string Descr(this NpyDType dtype) => dtype switch
    {
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        NpyDType.Int8 => "|i1",
        NpyDType.Int16 => "<i2",
        NpyDType.Int32 => "<i4",
        NpyDType.Int64 => "<i8",
        NpyDType.UInt8 => "|u1",
        NpyDType.UInt16 => "<u2",
        NpyDType.UInt32 => "<u4",
        NpyDType.UInt64 => "<u8",
        NpyDType.Bool => "|b1",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown NpyDType"),
    };
}

/// <summary>
/// An n-dimensional array as numpy stores it in a .npy file: a dtype, a shape (C order, i.e.
/// row-major: the last axis varies fastest) and the elements in a flat typed array
/// (<c>float[]</c> for <see cref="NpyDType.Float32"/>, <c>double[]</c> for
/// <see cref="NpyDType.Float64"/>, <c>sbyte[]</c> for <see cref="NpyDType.Int8"/>, ...,
/// <c>bool[]</c> for <see cref="NpyDType.Bool"/>). A 0-d array (shape <c>()</c>) holds one element.
/// </summary>
public sealed class NpyArray
{
    private readonly int[] _shape;

    /// <summary>
    /// Wraps <paramref name="data"/> (not copied) as an array of the given dtype and shape.
    /// The data's element type must match the dtype and its length must equal the product of the shape
    /// (1 for the empty shape, i.e. a 0-d scalar).
    /// </summary>
    public NpyArray(NpyDType dtype, int[] shape, Array data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (!Enum.IsDefined(dtype))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown NpyDType");
        var elementType = dtype.ElementType();
        if (data.GetType() != elementType.MakeArrayType())
            throw new ArgumentException(
                $"dtype {dtype.NumpyName()} needs a {elementType.Name}[] but the data is a {data.GetType().Name}", nameof(data));

        _shape = (int[])shape.Clone();
        for (int i = 0; i < _shape.Length; i++)
        {
            if (_shape[i] < 0)
                throw new ArgumentException($"shape {FormatShape(_shape)} has a negative dimension ({_shape[i]}) at axis {i}", nameof(shape));
        }
        long count = ProductOrMinusOne(_shape);
        if (count < 0 || data.LongLength != count)
        {
            string product = count < 0 ? "more than Int64.MaxValue" : count.ToString(CultureInfo.InvariantCulture);
            throw new ArgumentException(
                $"data length {data.LongLength} does not match shape {FormatShape(_shape)}, whose product is {product}", nameof(data));
        }
        DType = dtype;
        Data = data;
        ElementCount = count;
    }

    /// <summary>The element type.</summary>
    public NpyDType DType { get; }

    /// <summary>The dimensions (a copy; the empty array for a 0-d scalar).</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>The elements in C order, in their natural typed array (not a copy: writes are visible).</summary>
    public Array Data { get; }

    /// <summary>Number of elements, the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>Length of dimension <paramref name="axis"/>.</summary>
    public int Dim(int axis) => _shape[axis];

    /// <summary>A float32 array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromFloats(float[] data, params int[] shape) => new(NpyDType.Float32, ShapeOr1D(data, shape), data);

    /// <summary>A float64 array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromDoubles(double[] data, params int[] shape) => new(NpyDType.Float64, ShapeOr1D(data, shape), data);

    /// <summary>An int32 array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromInts(int[] data, params int[] shape) => new(NpyDType.Int32, ShapeOr1D(data, shape), data);

    /// <summary>An int64 array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromLongs(long[] data, params int[] shape) => new(NpyDType.Int64, ShapeOr1D(data, shape), data);

    /// <summary>A uint8 array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromBytes(byte[] data, params int[] shape) => new(NpyDType.UInt8, ShapeOr1D(data, shape), data);

    /// <summary>A bool array; with no shape given it is 1-D with <c>data.Length</c> elements.</summary>
    public static NpyArray FromBools(bool[] data, params int[] shape) => new(NpyDType.Bool, ShapeOr1D(data, shape), data);

    /// <summary>A 0-d float64 array (shape <c>()</c>), like <c>np.array(value)</c>.
    /// (The <c>From*</c> helpers treat an omitted shape as 1-D; use this or the constructor with an empty shape for 0-d.)</summary>
    public static NpyArray Scalar(double value) => new(NpyDType.Float64, [], new[] { value });

    /// <summary>The elements converted to float (a new array, also for float32). Bool gives 0 and 1.</summary>
    public float[] ToFloats() => DType switch
    {
        NpyDType.Float32 => (float[])Data.Clone(),
        NpyDType.Float64 => Convert<double, float>((double[])Data),
        NpyDType.Int8 => Convert<sbyte, float>((sbyte[])Data),
        NpyDType.Int16 => Convert<short, float>((short[])Data),
        NpyDType.Int32 => Convert<int, float>((int[])Data),
        NpyDType.Int64 => Convert<long, float>((long[])Data),
        NpyDType.UInt8 => Convert<byte, float>((byte[])Data),
        NpyDType.UInt16 => Convert<ushort, float>((ushort[])Data),
        NpyDType.UInt32 => Convert<uint, float>((uint[])Data),
        NpyDType.UInt64 => Convert<ulong, float>((ulong[])Data),
        NpyDType.Bool => Array.ConvertAll((bool[])Data, b => b ? 1f : 0f),
        _ => throw new InvalidOperationException($"unexpected dtype {DType}"),
    };

    /// <summary>The elements converted to double (a new array, also for float64). Bool gives 0 and 1.</summary>
    public double[] ToDoubles() => DType switch
    {
        NpyDType.Float64 => (double[])Data.Clone(),
        NpyDType.Float32 => Convert<float, double>((float[])Data),
        NpyDType.Int8 => Convert<sbyte, double>((sbyte[])Data),
        NpyDType.Int16 => Convert<short, double>((short[])Data),
        NpyDType.Int32 => Convert<int, double>((int[])Data),
        NpyDType.Int64 => Convert<long, double>((long[])Data),
        NpyDType.UInt8 => Convert<byte, double>((byte[])Data),
        NpyDType.UInt16 => Convert<ushort, double>((ushort[])Data),
        NpyDType.UInt32 => Convert<uint, double>((uint[])Data),
        NpyDType.UInt64 => Convert<ulong, double>((ulong[])Data),
        NpyDType.Bool => Array.ConvertAll((bool[])Data, b => b ? 1d : 0d),
        _ => throw new InvalidOperationException($"unexpected dtype {DType}"),
    };

    /// <summary>E.g. "float32 (2, 3)".</summary>
    public override string ToString() => $"{DType.NumpyName()} {FormatShape(_shape)}";

    /// <summary>A shape as Python prints a tuple: "()", "(5,)", "(2, 3)".</summary>
    public static string FormatShape(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        if (shape.Count == 1) sb.Append(',');
        return sb.Append(')').ToString();
    }

    /// <summary>Product of non-negative dimensions, or -1 when it overflows Int64.</summary>
    internal static long ProductOrMinusOne(IReadOnlyList<int> shape)
    {
        for (int i = 0; i < shape.Count; i++)
        {
            if (shape[i] == 0) return 0;
        }
        long product = 1;
        try
        {
            for (int i = 0; i < shape.Count; i++) product = checked(product * shape[i]);
        }
        catch (OverflowException)
        {
            return -1;
        }
        return product;
    }

    private static int[] ShapeOr1D(Array data, int[]? shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return shape is null || shape.Length == 0 ? [data.Length] : shape;
    }

    private static TTo[] Convert<TFrom, TTo>(TFrom[] source)
        where TFrom : INumberBase<TFrom>
        where TTo : INumberBase<TTo>
    {
        var result = new TTo[source.Length];
        for (int i = 0; i < source.Length; i++) result[i] = TTo.CreateTruncating(source[i]);
        return result;
    }
}
