using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using RnnCluster.Jobs;
using Xunit;

namespace RnnCluster.Tests.Jobs;

public sealed class OutputsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rnncluster-outputs-" + Guid.NewGuid().ToString("N"));

    public OutputsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Bit-by-bit CRC-32, independent of the encoder's table.</summary>
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    private sealed record PngChunk(string Type, byte[] Data);

    private static List<PngChunk> Chunks(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png.AsSpan(0, 8).ToArray());
        var chunks = new List<PngChunk>();
        int at = 8;
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            string type = Encoding.ASCII.GetString(typeAndData[..4]);
            Assert.True(Crc(typeAndData) == crc, $"CRC of chunk {type} does not check");
            chunks.Add(new PngChunk(type, typeAndData[4..].ToArray()));
            at += 12 + length;
        }
        Assert.Equal(png.Length, at);
        return chunks;
    }

    private static byte[] Pixels(List<PngChunk> chunks)
    {
        using var z = new ZLibStream(new MemoryStream([.. chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data)]), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        return raw.ToArray();
    }

    [Fact]
    public void LossPlot_IsAValidPng()
    {
        var path = Path.Combine(_dir, "plots", "loss.png");
        LossPlot.WritePng(path, [0.9, 0.5, 0.3, 0.2, 0.15, 0.12], [1.0, 0.6, 0.35, 0.3, 0.25, 0.24], "default job");
        var chunks = Chunks(File.ReadAllBytes(path));
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("IEND", chunks[^1].Type);
        var ihdr = chunks[0].Data;
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(400, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, ihdr[8..]);
        Assert.Contains(chunks, c => c.Type == "tEXt" && Encoding.Latin1.GetString(c.Data) == "Title\0default job");

        var pixels = Pixels(chunks);
        Assert.Equal(400 * (1 + 640 * 3), pixels.Length);
        int blue = 0, orange = 0;
        for (int y = 0; y < 400; y++)
        {
            Assert.Equal(0, pixels[y * 1921]); // filter byte
            for (int x = 0; x < 640; x++)
            {
                int i = y * 1921 + 1 + x * 3;
                var rgb = (pixels[i], pixels[i + 1], pixels[i + 2]);
                if (rgb == LossPlot.LossColour) blue++;
                if (rgb == LossPlot.ValLossColour) orange++;
            }
        }
        Assert.True(blue > 300, $"only {blue} pixels of the loss curve");
        Assert.True(orange > 300, $"only {orange} pixels of the validation curve");
    }

    [Fact]
    public void LossPlot_CopesWithOneEpochNaNAndNoValidation()
    {
        Chunks(LossPlot.Render([0.5], null, "one"));
        Chunks(LossPlot.Render([1, double.NaN, 0.5, double.PositiveInfinity, 1e-4], [], "gaps and a log axis"));
        Chunks(LossPlot.Render([], null, "empty"));
        Chunks(LossPlot.Render([2, 2, 2], [2, 2, 2], "flat"));
    }

    [Fact]
    public void Png_Crc32_MatchesTheKnownCheckValue()
    {
        Assert.Equal(0xCBF43926u, Png.Crc32("123456789"u8));
        Assert.Equal(Crc("IEND"u8), Png.Crc32("IEND"u8));
    }

    [Fact]
    public void MetricsCsv_HeaderAndRows()
    {
        var path = Path.Combine(_dir, "metrics.csv");
        MetricsCsv.Write(path,
        [
            new EpochMetrics(1, 0.5, 0.625, new Dictionary<string, double> { ["accuracy"] = 0.75, ["val_accuracy"] = 0.5 }, 1.25),
            new EpochMetrics(2, 0.25, null, new Dictionary<string, double> { ["accuracy"] = 0.875 }, 2.5),
        ]);
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,loss,val_loss,accuracy,val_accuracy,seconds", lines[0]);
        Assert.Equal("1,0.5,0.625,0.75,0.5,1.25", lines[1]);
        Assert.Equal("2,0.25,,0.875,,2.5", lines[2]);
        Assert.Equal(3, lines.Length);
    }

    [Fact]
    public void MetricsCsv_WithoutMetrics()
    {
        Assert.Equal("epoch,loss,val_loss,seconds\n1,0.1,0.2,3\n", MetricsCsv.Format([new EpochMetrics(1, 0.1, 0.2, null, 3)]));
        Assert.Equal("epoch,loss,val_loss,seconds", MetricsCsv.Header([]));
    }
}
