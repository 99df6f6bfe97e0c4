using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace RnnCluster.Data;

/// <summary>
/// A .npy or .npz input that cannot be read: bad magic, malformed header, unsupported dtype or
/// layout, truncated data, or a broken zip. The message starts with the source (file name, and for
/// an .npz the entry: "data.npz/x.npy") followed by the problem.
/// </summary>
public sealed class NpyFormatException : IOException
{
    public NpyFormatException(string sourceName, string problem)
        : base($"{sourceName}: {problem}")
    {
        SourceName = sourceName;
        Problem = problem;
    }

    public NpyFormatException(string sourceName, string problem, Exception? innerException)
        : base($"{sourceName}: {problem}", innerException)
    {
        SourceName = sourceName;
        Problem = problem;
    }

    /// <summary>The file (and entry) that could not be read.</summary>
    public string SourceName { get; }

    /// <summary>What is wrong with it (the message without the source).</summary>
    public string Problem { get; }
}

/// <summary>
/// Reads and writes numpy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
/// Reading accepts format versions 1.0, 2.0 and 3.0, C-ordered arrays of
/// float32/float64/int8..int64/uint8..uint64/bool in little-endian, big-endian (byte-swapped on
/// read) or native ('=') order. Writing produces what <c>np.save</c> produces: version 1.0
/// (2.0 when the header exceeds 65535 bytes), little-endian, the header dict in numpy's key order
/// with its spare room for growth, padded with spaces and '\n' so the data starts at a multiple of 64.
/// </summary>
public static class Npy
{
    private const int ArrayAlign = 64;
    private const int GrowthAxisMaxDigits = 21;
    private const int MaxHeaderLength = 1 << 24;
    private const int ChunkBytes = 1 << 24;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads one array from <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">"data file not found: path".</exception>
    /// <exception cref="NpyFormatException">The file is not a readable .npy.</exception>
    public static NpyArray ReadFile(string path)
    {
        using var stream = OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads one array from the current position of <paramref name="s"/>, consuming exactly the
    /// header and the data (anything after it is left unread). <paramref name="sourceName"/> names
    /// the input in error messages.
    /// </summary>
    public static NpyArray Read(Stream s, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(s);
        long? available = null;
        if (s.CanSeek)
        {
            try { available = s.Length - s.Position; }
            catch (NotSupportedException) { available = null; }
        }
        return ReadCore(s, sourceName ?? "<stream>", available);
    }

    /// <summary>Writes <paramref name="a"/> to <paramref name="path"/> (created or overwritten).</summary>
    public static void WriteFile(string path, NpyArray a)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(a);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(stream, a);
    }

    /// <summary>Writes <paramref name="a"/> in .npy format at the current position of <paramref name="s"/>.</summary>
    public static void Write(Stream s, NpyArray a)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(a);
        s.Write(BuildHeader(a));
        // Switch on the dtype, not the array's runtime type: the CLR lets a byte[] pass as sbyte[], uint[] as int[], ...
        switch (a.DType)
        {
            case NpyDType.Float32: WriteElements(s, (float[])a.Data); break;
            case NpyDType.Float64: WriteElements(s, (double[])a.Data); break;
            case NpyDType.Int8: WriteElements(s, (sbyte[])a.Data); break;
            case NpyDType.Int16: WriteElements(s, (short[])a.Data); break;
            case NpyDType.Int32: WriteElements(s, (int[])a.Data); break;
            case NpyDType.Int64: WriteElements(s, (long[])a.Data); break;
            case NpyDType.UInt8: WriteElements(s, (byte[])a.Data); break;
            case NpyDType.UInt16: WriteElements(s, (ushort[])a.Data); break;
            case NpyDType.UInt32: WriteElements(s, (uint[])a.Data); break;
            case NpyDType.UInt64: WriteElements(s, (ulong[])a.Data); break;
            case NpyDType.Bool: WriteBools(s, (bool[])a.Data); break;
            default: throw new InvalidOperationException($"unexpected dtype {a.DType}");
        }
    }

    /// <summary>Opens a file for reading, turning a missing file into "data file not found: path".</summary>
    internal static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"data file not found: {path}", path, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new FileNotFoundException($"data file not found: {path} (directory does not exist)", path, e);
        }
    }

    /// <summary>The magic, version, length and padded header dict that precede the data.</summary>
    internal static byte[] BuildHeader(NpyArray a)
    {
        var shape = a.Shape;
        var dict = new StringBuilder()
            .Append("{'descr': '").Append(a.DType.Descr())
            .Append("', 'fortran_order': False, 'shape': ")
            .Append(NpyArray.FormatShape(shape))
            .Append(", }");
        // numpy leaves room to rewrite the first dimension in place (np.lib.format GROWTH_AXIS_MAX_DIGITS).
        if (shape.Length > 0)
            dict.Append(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));

        int textLength = dict.Length + 1; // + '\n'
        int major = 1, prefixLength = Magic.Length + 2 + 2;
        int padding = ArrayAlign - (prefixLength + textLength) % ArrayAlign;
        if (textLength + padding > ushort.MaxValue)
        {
            major = 2;
            prefixLength = Magic.Length + 2 + 4;
            padding = ArrayAlign - (prefixLength + textLength) % ArrayAlign;
        }

        var header = new byte[prefixLength + textLength + padding];
        Magic.CopyTo(header);
        header[6] = (byte)major;
        header[7] = 0;
        if (major == 1)
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(textLength + padding));
        else
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)(textLength + padding));
        int at = prefixLength + Encoding.ASCII.GetBytes(dict.ToString(), header.AsSpan(prefixLength));
        header.AsSpan(at, padding).Fill((byte)' ');
        header[^1] = (byte)'\n';
        return header;
    }

    /// <summary>Reads one array; <paramref name="available"/> is how many bytes the stream still holds, when known.</summary>
    internal static NpyArray ReadCore(Stream s, string source, long? available)
    {
        Span<byte> prefix = stackalloc byte[8];
        int got = s.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (got == 0)
            throw new NpyFormatException(source, "empty input, not a .npy file");
        if (got < Magic.Length || !prefix[..Magic.Length].SequenceEqual(Magic))
            throw new NpyFormatException(source,
                $"not a .npy file (bad magic: expected \\x93NUMPY, found '{Printable(prefix[..Math.Min(got, Magic.Length)])}')");
        if (got < prefix.Length)
            throw new NpyFormatException(source, "truncated header: the format version is missing");

        int major = prefix[6], minor = prefix[7];
        int lengthSize = major switch { 1 => 2, 2 or 3 => 4, _ => 0 };
        if (lengthSize == 0 || minor != 0)
            throw new NpyFormatException(source, $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");

        Span<byte> lengthBytes = stackalloc byte[4];
        got = s.ReadAtLeast(lengthBytes[..lengthSize], lengthSize, throwOnEndOfStream: false);
        if (got < lengthSize)
            throw new NpyFormatException(source, "truncated header: the header length is missing");
        long headerLength = lengthSize == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes)
            : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderLength)
            throw new NpyFormatException(source, $"header length {headerLength} is implausibly large (limit {MaxHeaderLength})");

        var headerBytes = new byte[headerLength];
        got = s.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
        if (got < headerLength)
            throw new NpyFormatException(source, $"truncated header: expected {headerLength} header bytes, found {got}");

        string headerText;
        try
        {
            headerText = major == 3
                ? new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(headerBytes)
                : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new NpyFormatException(source, "header is not valid UTF-8 (required by format version 3.0)", e);
        }

        var (dtype, bigEndian, shape) = NpyHeader.Parse(headerText, source);
        string what = $"shape {NpyArray.FormatShape(shape)} {dtype.NumpyName()}";
        long count = NpyArray.ProductOrMinusOne(shape);
        if (count < 0 || count > Array.MaxLength)
            throw new NpyFormatException(source, $"{what} has more elements than a .NET array can hold");
        long expectedBytes = count * dtype.ItemSize();

        long dataAvailable = available.HasValue ? available.Value - (prefix.Length + lengthSize + headerLength) : long.MaxValue;
        if (dataAvailable < expectedBytes)
            throw new NpyFormatException(source, $"expected {expectedBytes} bytes of data for {what}, found {Math.Max(0, dataAvailable)}");

        int n = (int)count;
        Array data;
        long read;
        switch (dtype)
        {
            case NpyDType.Float32: { var d = new float[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Float64: { var d = new double[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Int8: { var d = new sbyte[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Int16: { var d = new short[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Int32: { var d = new int[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Int64: { var d = new long[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.UInt8: { var d = new byte[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.UInt16: { var d = new ushort[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.UInt32: { var d = new uint[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.UInt64: { var d = new ulong[n]; read = ReadElements(s, d); data = d; break; }
            case NpyDType.Bool:
            {
                var d = new bool[n];
                read = ReadElements(s, d);
                // numpy bools are 0/1, but make sure every non-zero byte is a canonical true.
                foreach (ref byte b in MemoryMarshal.AsBytes(d.AsSpan()))
                {
                    if (b > 1) b = 1;
                }
                data = d;
                break;
            }
            default: throw new InvalidOperationException($"unexpected dtype {dtype}");
        }
        if (read < expectedBytes)
            throw new NpyFormatException(source, $"expected {expectedBytes} bytes of data for {what}, found {read}");

        if (dtype.ItemSize() > 1 && bigEndian == BitConverter.IsLittleEndian)
            SwapBytes(dtype, data);
        return new NpyArray(dtype, shape, data);
    }

    private static long ReadElements<T>(Stream s, T[] array) where T : unmanaged
    {
        int chunk = Math.Max(1, ChunkBytes / Unsafe.SizeOf<T>());
        long total = 0;
        for (int offset = 0; offset < array.Length; offset += chunk)
        {
            var bytes = MemoryMarshal.AsBytes(array.AsSpan(offset, Math.Min(chunk, array.Length - offset)));
            int got = s.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            total += got;
            if (got < bytes.Length) break;
        }
        return total;
    }

    private static void WriteElements<T>(Stream s, T[] array) where T : unmanaged
    {
        int chunk = Math.Max(1, ChunkBytes / Unsafe.SizeOf<T>());
        bool swap = !BitConverter.IsLittleEndian && Unsafe.SizeOf<T>() > 1;
        T[]? buffer = swap ? new T[Math.Min(chunk, array.Length)] : null;
        for (int offset = 0; offset < array.Length; offset += chunk)
        {
            var part = array.AsSpan(offset, Math.Min(chunk, array.Length - offset));
            if (buffer is not null)
            {
                var copy = buffer.AsSpan(0, part.Length);
                part.CopyTo(copy);
                SwapBytes(copy);
                s.Write(MemoryMarshal.AsBytes(copy));
            }
            else
            {
                s.Write(MemoryMarshal.AsBytes(part));
            }
        }
    }

    private static void WriteBools(Stream s, bool[] array)
    {
        var buffer = new byte[Math.Min(ChunkBytes, Math.Max(1, array.Length))];
        for (int offset = 0; offset < array.Length; offset += buffer.Length)
        {
            int n = Math.Min(buffer.Length, array.Length - offset);
            for (int i = 0; i < n; i++) buffer[i] = array[offset + i] ? (byte)1 : (byte)0;
            s.Write(buffer, 0, n);
        }
    }

    private static void SwapBytes(NpyDType dtype, Array data)
    {
        switch (dtype)
        {
            case NpyDType.Float32: SwapBytes(((float[])data).AsSpan()); break;
            case NpyDType.Float64: SwapBytes(((double[])data).AsSpan()); break;
            case NpyDType.Int16: SwapBytes(((short[])data).AsSpan()); break;
            case NpyDType.Int32: SwapBytes(((int[])data).AsSpan()); break;
            case NpyDType.Int64: SwapBytes(((long[])data).AsSpan()); break;
            case NpyDType.UInt16: SwapBytes(((ushort[])data).AsSpan()); break;
            case NpyDType.UInt32: SwapBytes(((uint[])data).AsSpan()); break;
            case NpyDType.UInt64: SwapBytes(((ulong[])data).AsSpan()); break;
        }
    }

    private static void SwapBytes<T>(Span<T> span) where T : unmanaged
    {
        switch (Unsafe.SizeOf<T>())
        {
            case 2: { var v = MemoryMarshal.Cast<T, ushort>(span); BinaryPrimitives.ReverseEndianness(v, v); break; }
            case 4: { var v = MemoryMarshal.Cast<T, uint>(span); BinaryPrimitives.ReverseEndianness(v, v); break; }
            case 8: { var v = MemoryMarshal.Cast<T, ulong>(span); BinaryPrimitives.ReverseEndianness(v, v); break; }
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            if (b >= 0x20 && b < 0x7f && b != '\'' && b != '\\') sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
