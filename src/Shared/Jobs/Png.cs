using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace RnnCluster.Jobs;

/// <summary>A minimal PNG encoder: 8-bit RGB, no interlace, filter 0 on every row, zlib IDAT, optional tEXt chunks.</summary>
public static class Png
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="rgb"/> (height rows of width x 3 bytes, top row first).</summary>
    public static byte[] EncodeRgb(int width, int height, ReadOnlySpan<byte> rgb, IReadOnlyDictionary<string, string>? text = null)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"image size must be positive, got {width}x{height}");
        if (rgb.Length != width * height * 3) throw new ArgumentException($"{width}x{height} RGB needs {width * height * 3} bytes, got {rgb.Length}");
        using var file = new MemoryStream();
        file.Write(Signature);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: truecolour
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering
        ihdr[12] = 0; // no interlace
        Chunk(file, "IHDR", ihdr);

        if (text is not null)
            foreach (var (keyword, value) in text)
            {
                var bytes = Latin1(keyword.Length is >= 1 and <= 79 ? keyword : "Comment").Concat(new byte[] { 0 }).Concat(Latin1(value)).ToArray();
                Chunk(file, "tEXt", bytes);
            }

        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = width * 3;
                for (int y = 0; y < height; y++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(rgb.Slice(y * stride, stride));
                }
            }
            Chunk(file, "IDAT", compressed.ToArray());
        }
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as PNG chunks use it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint crc = 0)
    {
        var table = CrcTable.Value;
        uint c = ~crc;
        foreach (var b in data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    private static readonly Lazy<uint[]> CrcTable = new(() =>
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    });

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32(data, Crc32(typeBytes));
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }

    private static byte[] Latin1(string s) => [.. s.Select(c => c is >= ' ' and <= '~' or >= '\u00A0' and <= '\u00FF' ? (byte)c : (byte)'?')];
}
