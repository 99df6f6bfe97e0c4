using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using RnnCluster.Data;
using Xunit;

namespace RnnCluster.Tests.Data;

public sealed class NpyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rnncluster-npy-" + Guid.NewGuid().ToString("N"));

    public NpyTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    // ---------- round trips ----------

    public static TheoryData<NpyDType, int[]> DTypesAndShapes()
    {
        var data = new TheoryData<NpyDType, int[]>();
        int[][] shapes = [[], [7], [2, 3, 4], [0, 3]];
        foreach (var dtype in Enum.GetValues<NpyDType>())
        {
            foreach (var shape in shapes) data.Add(dtype, shape);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void RoundTrip_EveryDtypeAndShape(NpyDType dtype, int[] shape)
    {
        var original = new NpyArray(dtype, shape, Sample(dtype, (int)NpyArray.ProductOrMinusOne(shape)));

        var bytes = ToBytes(original);
        var back = Npy.Read(new MemoryStream(bytes), "mem.npy");

        Assert.Equal(dtype, back.DType);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(original.ElementCount, back.ElementCount);
        AssertSameBits(original.Data, back.Data);
        Assert.Equal(HeaderLength(bytes) + back.ElementCount * dtype.ItemSize(), bytes.Length);
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void RoundTrip_ThroughNonSeekableStream(NpyDType dtype, int[] shape)
    {
        var original = new NpyArray(dtype, shape, Sample(dtype, (int)NpyArray.ProductOrMinusOne(shape)));
        var back = Npy.Read(new NonSeekableStream(ToBytes(original)), "pipe");
        Assert.Equal(shape, back.Shape);
        AssertSameBits(original.Data, back.Data);
    }

    [Fact]
    public void RoundTrip_File()
    {
        string path = Path.Combine(_dir, "a.npy");
        var a = NpyArray.FromFloats([1, 2, 3, 4, 5, 6], 2, 3);
        Npy.WriteFile(path, a);
        var b = Npy.ReadFile(path);
        Assert.Equal(NpyDType.Float32, b.DType);
        Assert.Equal(new[] { 2, 3 }, b.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, (float[])b.Data);
    }

    [Fact]
    public void NaNAndInfinities_ArePreservedBitForBit()
    {
        float weirdNaN = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00123));
        double weirdNaN64 = BitConverter.Int64BitsToDouble(unchecked((long)0x7FF8000000000ABCUL));
        var f = NpyArray.FromFloats([float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, weirdNaN, float.Epsilon]);
        var d = NpyArray.FromDoubles([double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0d, weirdNaN64, double.Epsilon]);

        var f2 = (float[])Npy.Read(new MemoryStream(ToBytes(f)), "f.npy").Data;
        var d2 = (double[])Npy.Read(new MemoryStream(ToBytes(d)), "d.npy").Data;

        Assert.True(float.IsNaN(f2[0]));
        Assert.True(float.IsPositiveInfinity(f2[1]));
        Assert.True(float.IsNegativeInfinity(f2[2]));
        Assert.True(float.IsNegative(f2[3]) && f2[3] == 0);
        Assert.Equal(0xFFC00123u, BitConverter.SingleToUInt32Bits(f2[4]));
        Assert.Equal(float.Epsilon, f2[5]);
        Assert.True(double.IsNaN(d2[0]));
        Assert.True(double.IsPositiveInfinity(d2[1]));
        Assert.True(double.IsNegativeInfinity(d2[2]));
        Assert.True(double.IsNegative(d2[3]) && d2[3] == 0);
        Assert.Equal(0x7FF8000000000ABCUL, BitConverter.DoubleToUInt64Bits(d2[4]));
        Assert.Equal(double.Epsilon, d2[5]);
    }

    [Fact]
    public void ZeroD_OneD_ThreeD_AndEmpty_HaveTheRightShapes()
    {
        var scalar = Npy.Read(new MemoryStream(ToBytes(NpyArray.Scalar(2.5))), "s.npy");
        Assert.Empty(scalar.Shape);
        Assert.Equal(0, scalar.Rank);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal(2.5, ((double[])scalar.Data)[0]);

        var oneD = Npy.Read(new MemoryStream(ToBytes(NpyArray.FromInts([1, 2, 3, 4, 5]))), "v.npy");
        Assert.Equal(new[] { 5 }, oneD.Shape);

        var threeD = Npy.Read(new MemoryStream(ToBytes(NpyArray.FromLongs(Enumerable.Range(0, 24).Select(i => (long)i).ToArray(), 2, 3, 4))), "t.npy");
        Assert.Equal(new[] { 2, 3, 4 }, threeD.Shape);
        Assert.Equal(23L, ((long[])threeD.Data)[23]);

        var empty = Npy.Read(new MemoryStream(ToBytes(NpyArray.FromFloats([], 0, 3))), "e.npy");
        Assert.Equal(new[] { 0, 3 }, empty.Shape);
        Assert.Equal(0, empty.ElementCount);
        Assert.Empty((float[])empty.Data);
    }

    // ---------- what the writer produces ----------

    [Theory]
    [InlineData(new int[0], "()")]
    [InlineData(new[] { 5 }, "(5,)")]
    [InlineData(new[] { 2, 3 }, "(2, 3)")]
    [InlineData(new[] { 123456, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, "(123456, 1,")]
    public void Writer_HeaderIsNumpyStyleAndDataIs64ByteAligned(int[] shape, string shapeText)
    {
        var a = new NpyArray(NpyDType.Float32, shape, new float[NpyArray.ProductOrMinusOne(shape)]);
        var bytes = ToBytes(a);
        int dataOffset = HeaderLength(bytes);

        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(bytes, 1, 5));
        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, bytes[7]);
        Assert.Equal(0, dataOffset % 64);
        Assert.Equal((byte)'\n', bytes[dataOffset - 1]);
        string header = Encoding.ASCII.GetString(bytes, 10, dataOffset - 10);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText, header);
        Assert.Matches(@"^\{[^\n]*\} *\n$", header);
    }

    [Fact]
    public void Writer_UsesVersion2WhenTheHeaderExceeds65535Bytes()
    {
        var shape = Enumerable.Repeat(1, 22_000).ToArray();
        var a = NpyArray.FromDoubles([42.0], shape);
        var bytes = ToBytes(a);
        Assert.Equal(2, bytes[6]);
        int dataOffset = 12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, dataOffset % 64);
        var back = Npy.Read(new MemoryStream(bytes), "big-header.npy");
        Assert.Equal(22_000, back.Rank);
        Assert.Equal(42.0, ((double[])back.Data)[0]);
    }

    public static TheoryData<string> ParityFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "fixtures", "parity"), "*.npz").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(ParityFixtures))]
    public void Writer_ReproducesNumpyWrittenEntriesByteForByte(string fixture)
    {
        using var zip = ZipFile.OpenRead(Fixture(fixture));
        Assert.NotEmpty(zip.Entries);
        foreach (var entry in zip.Entries)
        {
            byte[] numpyBytes;
            using (var es = entry.Open())
            using (var ms = new MemoryStream())
            {
                es.CopyTo(ms);
                numpyBytes = ms.ToArray();
            }
            var array = Npy.Read(new MemoryStream(numpyBytes), entry.FullName);
            Assert.Equal(numpyBytes, ToBytes(array));
        }
    }

    // ---------- numpy-written fixtures ----------

    [Fact]
    public void Fixture_SimpleRnnLast_HasTheExpectedArrays()
    {
        var arrays = Npz.ReadFile(Fixture("simple_rnn_last.npz"));

        Assert.Contains("x", arrays.Keys);
        Assert.Contains("y", arrays.Keys);
        Assert.Contains("layer0.kernel", arrays.Keys);
        Assert.Equal("x", arrays.Keys.First());
        Assert.Equal("case.json", arrays.Keys.Last());

        var x = arrays["x"];
        Assert.Equal(NpyDType.Float64, x.DType);
        Assert.Equal(3, x.Rank);
        Assert.Equal(new[] { 4, 5, 4 }, x.Shape);
        Assert.Equal(80, x.ElementCount);
        Assert.All(x.ToDoubles(), v => Assert.True(double.IsFinite(v)));
        Assert.Equal(x.ToDoubles().Select(v => (float)v), x.ToFloats());

        Assert.Equal(new[] { 4, 3 }, arrays["layer0.kernel"].Shape);
        Assert.Empty(arrays["expected.loss"].Shape);

        var json = arrays["case.json"];
        Assert.Equal(NpyDType.UInt8, json.DType);
        using var doc = JsonDocument.Parse((byte[])json.Data);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("layers").ValueKind);
        Assert.Equal("simple_rnn", doc.RootElement.GetProperty("layers")[0].GetProperty("cell").GetString());
        Assert.Equal(4, doc.RootElement.GetProperty("batch").GetInt32());
    }

    [Theory]
    [MemberData(nameof(ParityFixtures))]
    public void Fixture_EveryParityCaseReads(string fixture)
    {
        var arrays = Npz.ReadFile(Fixture(fixture));
        foreach (var (key, array) in arrays)
        {
            Assert.False(key.EndsWith(".npy", StringComparison.Ordinal));
            Assert.Equal(key == "case.json" ? NpyDType.UInt8 : NpyDType.Float64, array.DType);
        }
        Assert.Equal(3, arrays["x"].Rank);
        using var doc = JsonDocument.Parse((byte[])arrays["case.json"].Data);
        Assert.True(doc.RootElement.TryGetProperty("layers", out _));
        Assert.Equal(doc.RootElement.GetProperty("batch").GetInt32(), arrays["x"].Dim(0));
    }

    [Fact]
    public void Npz_ReadsDeflatedArchives_LikeSavezCompressed()
    {
        // np.savez_compressed is a ZIP_DEFLATED zip of the same .npy bytes: re-pack numpy's entries that way.
        var stored = Npz.ReadFile(Fixture("lstm_sequences.npz"));
        var deflated = new MemoryStream();
        using (var src = ZipFile.OpenRead(Fixture("lstm_sequences.npz")))
        using (var dst = new ZipArchive(deflated, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in src.Entries)
            {
                var copy = dst.CreateEntry(entry.FullName, CompressionLevel.Optimal);
                using var from = entry.Open();
                using var to = copy.Open();
                from.CopyTo(to);
            }
        }
        deflated.Position = 0;
        using (var check = new ZipArchive(deflated, ZipArchiveMode.Read, leaveOpen: true))
            Assert.Contains(check.Entries, e => e.CompressedLength < e.Length);
        deflated.Position = 0;

        var arrays = Npz.Read(new NonSeekableStream(deflated.ToArray()), "lstm_compressed.npz");

        Assert.Equal(stored.Keys, arrays.Keys);
        foreach (var (key, array) in stored)
        {
            Assert.Equal(array.Shape, arrays[key].Shape);
            AssertSameBits(array.Data, arrays[key].Data);
        }
    }

    // ---------- header parsing ----------

    [Theory]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }")]
    [InlineData("{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}")]
    [InlineData("{ 'fortran_order' : False ,'shape':(2,3),'descr':'<i4' , }  \n")]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': ( 2 , 3 , ), }")]
    [InlineData("{'descr': '<i4',\n 'fortran_order': False,\n 'shape': (2L, 3L)}")]
    [InlineData("{'descr': '=i4', 'fortran_order': False, 'shape': (2, 3), }")]
    public void Header_in_the_forms_numpy_writes_and_reads(string header)
    {
        var data = new byte[24];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), i * 10);
        var a = Npy.Read(new MemoryStream(RawNpy(header, data)), "h.npy");
        Assert.Equal(NpyDType.Int32, a.DType);
        Assert.Equal(new[] { 2, 3 }, a.Shape);
        Assert.Equal(new[] { 0, 10, 20, 30, 40, 50 }, (int[])a.Data);
    }

    [Theory]
    [InlineData("()", new int[0])]
    [InlineData("(5,)", new[] { 5 })]
    [InlineData("(1, 5, 1)", new[] { 1, 5, 1 })]
    public void Header_ShapeForms(string shapeText, int[] expected)
    {
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shapeText + ", }";
        var a = Npy.Read(new MemoryStream(RawNpy(header, [7, 7, 7, 7, 7])), "s.npy");
        Assert.Equal(expected, a.Shape);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_FormatVersions2And3(int major)
    {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
        var data = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(data, 1.25);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8), -3.5);
        var a = Npy.Read(new MemoryStream(RawNpy(header, data, major)), "v.npy");
        Assert.Equal(new[] { 1.25, -3.5 }, (double[])a.Data);
    }

    [Fact]
    public void Reads_BigEndianByByteSwapping()
    {
        var f = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(f, 1.5f);
        BinaryPrimitives.WriteSingleBigEndian(f.AsSpan(4), float.NegativeInfinity);
        var a = Npy.Read(new MemoryStream(RawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f)), "be.npy");
        Assert.Equal(new[] { 1.5f, float.NegativeInfinity }, (float[])a.Data);

        var l = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(l, -2);
        BinaryPrimitives.WriteInt64BigEndian(l.AsSpan(8), 0x0102030405060708);
        var b = Npy.Read(new MemoryStream(RawNpy("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", l)), "be.npy");
        Assert.Equal(new[] { -2L, 0x0102030405060708 }, (long[])b.Data);

        var u = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(u, 0xABCD);
        var c = Npy.Read(new MemoryStream(RawNpy("{'descr': '>u2', 'fortran_order': False, 'shape': (), }", u)), "be.npy");
        Assert.Equal((ushort)0xABCD, ((ushort[])c.Data)[0]);
    }

    [Theory]
    [InlineData("|u1", NpyDType.UInt8)]
    [InlineData("<u1", NpyDType.UInt8)]
    [InlineData("=u1", NpyDType.UInt8)]
    [InlineData("|i1", NpyDType.Int8)]
    [InlineData("|b1", NpyDType.Bool)]
    [InlineData("=b1", NpyDType.Bool)]
    public void Reads_OneByteTypesWithAnyByteOrderMark(string descr, NpyDType expected)
    {
        var a = Npy.Read(new MemoryStream(RawNpy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (3,), }", [0, 1, 2])), "b.npy");
        Assert.Equal(expected, a.DType);
        if (expected == NpyDType.Bool)
            Assert.Equal(new[] { false, true, true }, (bool[])a.Data);
        Assert.Equal(new[] { 0.0, 1.0, expected == NpyDType.Bool ? 1.0 : 2.0 }, a.ToDoubles());
    }

    [Fact]
    public void Read_StopsAfterTheData_SoArraysCanBeConcatenated()
    {
        var ms = new MemoryStream();
        Npy.Write(ms, NpyArray.FromInts([1, 2, 3]));
        Npy.Write(ms, NpyArray.FromDoubles([4.5], 1, 1));
        ms.Position = 0;
        Assert.Equal(new[] { 1, 2, 3 }, (int[])Npy.Read(ms, "cat.npy").Data);
        Assert.Equal(new[] { 4.5 }, (double[])Npy.Read(ms, "cat.npy").Data);
        Assert.Equal(ms.Length, ms.Position);
    }

    // ---------- errors ----------

    [Fact]
    public void Error_BadMagic()
    {
        var bytes = Encoding.ASCII.GetBytes("PK\x03\x04 this is not an npy file at all");
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes), "bad.npy"));
        Assert.StartsWith("bad.npy: ", e.Message);
        Assert.Contains("bad magic", e.Message);
        Assert.Equal("bad.npy", e.SourceName);
    }

    [Fact]
    public void Error_EmptyInput()
    {
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(), "empty.npy"));
        Assert.Equal("empty.npy: empty input, not a .npy file", e.Message);
    }

    [Fact]
    public void Error_TruncatedData_Seekable()
    {
        var bytes = RawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[10]);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes), "w.npy"));
        Assert.Equal("w.npy: expected 24 bytes of data for shape (2, 3) float32, found 10", e.Message);
    }

    [Fact]
    public void Error_TruncatedData_NonSeekable()
    {
        var bytes = RawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[10]);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new NonSeekableStream(bytes), "w.npy"));
        Assert.Equal("w.npy: expected 24 bytes of data for shape (2, 3) float32, found 10", e.Message);
    }

    [Fact]
    public void Error_TruncatedFileOnDisk_NamesThePath()
    {
        string path = Path.Combine(_dir, "cut.npy");
        var full = ToBytes(NpyArray.FromDoubles([1, 2, 3, 4]));
        File.WriteAllBytes(path, full[..^5]);
        var e = Assert.Throws<NpyFormatException>(() => Npy.ReadFile(path));
        Assert.Contains("cut.npy", e.Message);
        Assert.Contains("expected 32 bytes of data for shape (4,) float64, found 27", e.Message);
    }

    [Fact]
    public void Error_TruncatedHeader()
    {
        var bytes = RawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", []);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes[..40]), "th.npy"));
        Assert.StartsWith("th.npy: truncated header", e.Message);
    }

    [Fact]
    public void Error_FortranOrder()
    {
        var bytes = RawNpy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", new byte[32]);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes), "f.npy"));
        Assert.StartsWith("f.npy: ", e.Message);
        Assert.Contains("fortran_order True", e.Message);
    }

    [Theory]
    [InlineData("'<U5'", "unsupported dtype '<U5' (supported: float32")]
    [InlineData("'|O'", "unsupported dtype '|O'")]
    [InlineData("'<f2'", "unsupported dtype '<f2'")]
    [InlineData("'<c16'", "unsupported dtype '<c16'")]
    [InlineData("'|f4'", "unsupported dtype '|f4'")]
    [InlineData("'|S3'", "unsupported dtype '|S3'")]
    [InlineData("[('a', '<i4'), ('b', '<f8')]", "unsupported dtype: structured dtypes are not supported")]
    public void Error_UnsupportedDtype(string descr, string expected)
    {
        var bytes = RawNpy("{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }", new byte[64]);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes), "u.npy"));
        Assert.StartsWith("u.npy: " + expected, e.Message);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "header has no 'shape' key")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "malformed header")]
    [InlineData("['descr', '<f4']", "malformed header (not a dict)")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "header 'shape' must hold integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", "header 'shape' must hold integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "header 'fortran_order' must be True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", "malformed header")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", "dimension 99999999999999999999999 is too large")]
    // What a Python literal allows but numpy never writes (and its reader mostly refuses):
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': None, }", "header key 'extra' is not one numpy writes (descr, fortran_order, shape)")]
    [InlineData("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,), }", "expected a key in single quotes at offset 1")]
    [InlineData("{'descr': u'<f4', 'fortran_order': False, 'shape': (2,), }", "'descr' must be a string in single quotes")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "header 'shape' must be a tuple of integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "a single dimension is written (n,)")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,), }", "header repeats the key 'shape'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\0\0", "unexpected '\\x00' after the dict")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured dtypes are not supported")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "fortran_order True (column-major) arrays are not supported")]
    public void Error_BadHeader(string header, string expected)
    {
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(RawNpy(header, new byte[8])), "hdr.npy"));
        Assert.StartsWith("hdr.npy: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Error_UnsupportedVersion()
    {
        var bytes = RawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", new byte[4]);
        bytes[6] = 4;
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes), "v4.npy"));
        Assert.StartsWith("v4.npy: unsupported .npy format version 4.0", e.Message);
    }

    [Fact]
    public void Error_InsideNpz_NamesArchiveAndEntry()
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddEntry(zip, "ok.npy", ToBytes(NpyArray.FromInts([1])));
            AddEntry(zip, "x.npy", RawNpy("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", new byte[20]));
        }
        ms.Position = 0;
        var e = Assert.Throws<NpyFormatException>(() => Npz.Read(ms, "data.npz"));
        Assert.StartsWith("data.npz/x.npy: unsupported dtype '<U5'", e.Message);
        Assert.Equal("data.npz/x.npy", e.SourceName);
    }

    [Fact]
    public void Error_TruncatedEntryInsideNpzFile()
    {
        string path = Path.Combine(_dir, "data.npz");
        using (var fs = File.Create(path))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Create))
            AddEntry(zip, "w.npy", RawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[10]));
        var e = Assert.Throws<NpyFormatException>(() => Npz.ReadFile(path));
        Assert.Equal($"{path}/w.npy: expected 24 bytes of data for shape (2, 3) float32, found 10", e.Message);
    }

    [Fact]
    public void Error_NpzThatIsNotAZip()
    {
        string path = Path.Combine(_dir, "notzip.npz");
        File.WriteAllBytes(path, ToBytes(NpyArray.FromInts([1, 2])));
        var e = Assert.Throws<NpyFormatException>(() => Npz.ReadFile(path));
        Assert.StartsWith(path + ": not a valid .npz (zip) archive", e.Message);
    }

    [Fact]
    public void Error_MissingFiles()
    {
        string npy = Path.Combine(_dir, "nope.npy");
        string npz = Path.Combine(_dir, "missing", "nope.npz");
        var e1 = Assert.Throws<FileNotFoundException>(() => Npy.ReadFile(npy));
        Assert.StartsWith("data file not found: " + npy, e1.Message);
        Assert.Equal(npy, e1.FileName);
        var e2 = Assert.Throws<FileNotFoundException>(() => Npz.ReadFile(npz));
        Assert.StartsWith("data file not found: " + npz, e2.Message);
    }

    // ---------- NpyArray ----------

    [Fact]
    public void NpyArray_ValidatesLengthAgainstShape()
    {
        var e = Assert.Throws<ArgumentException>(() => NpyArray.FromFloats(new float[5], 2, 3));
        Assert.Contains("5", e.Message);
        Assert.Contains("6", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Throws<ArgumentException>(() => NpyArray.FromDoubles([1.0], -1));
        Assert.Throws<ArgumentException>(() => new NpyArray(NpyDType.Float32, [2], new double[2]));
        Assert.Throws<ArgumentException>(() => new NpyArray(NpyDType.Float64, [], new double[0]));
    }

    [Fact]
    public void NpyArray_ConvenienceConstructorsAndConversions()
    {
        Assert.Equal(new[] { 3 }, NpyArray.FromBytes([1, 2, 3]).Shape);
        Assert.Equal(NpyDType.UInt8, NpyArray.FromBytes([1, 2, 3]).DType);
        Assert.Equal(NpyDType.Int64, NpyArray.FromLongs([1, 2], 2, 1).DType);
        Assert.Equal(6, NpyArray.FromInts([1, 2, 3, 4, 5, 6], 3, 2).ElementCount);
        Assert.Equal("float32 (2, 3)", NpyArray.FromFloats(new float[6], 2, 3).ToString());

        Assert.Equal(new[] { -1f, 2f, 3e9f }, NpyArray.FromLongs([-1, 2, 3_000_000_000]).ToFloats());
        Assert.Equal(new[] { 0.5, 1e300 }, NpyArray.FromDoubles([0.5, 1e300]).ToDoubles());
        Assert.Equal(new[] { 0.5f, float.PositiveInfinity }, NpyArray.FromDoubles([0.5, 1e300]).ToFloats());
        Assert.Equal(new[] { 255.0, 0.0 }, NpyArray.FromBytes([255, 0]).ToDoubles());
        Assert.Equal(new[] { 255f, 0f }, NpyArray.FromBytes([255, 0]).ToFloats());
        Assert.Equal(new[] { 4294967295.0 }, new NpyArray(NpyDType.UInt32, [1], new[] { uint.MaxValue }).ToDoubles());
        Assert.Equal(new[] { 65535.0 }, new NpyArray(NpyDType.UInt16, [1], new[] { ushort.MaxValue }).ToDoubles());
        Assert.Equal(new[] { -128.0 }, new NpyArray(NpyDType.Int8, [1], new[] { sbyte.MinValue }).ToDoubles());
        Assert.Equal(new[] { 1.0, 0.0 }, NpyArray.FromBools([true, false]).ToDoubles());
        Assert.Equal(new[] { ulong.MaxValue * 1.0 }, new NpyArray(NpyDType.UInt64, [1], new[] { ulong.MaxValue }).ToDoubles());

        var source = new float[] { 1, 2 };
        var a = NpyArray.FromFloats(source);
        Assert.Same(source, a.Data);
        Assert.NotSame(source, a.ToFloats());
        a.Shape[0] = 99;
        Assert.Equal(2, a.Dim(0));
    }

    // ---------- npz ----------

    [Fact]
    public void Npz_RoundTripKeepsOrderNamesAndTypes()
    {
        var arrays = new List<KeyValuePair<string, NpyArray>>
        {
            new("z", NpyArray.FromFloats([1, 2, 3, 4, 5, 6], 2, 3)),
            new("a", NpyArray.Scalar(double.NaN)),
            new("m.sub", NpyArray.FromBools([true, false, true])),
            new("empty", NpyArray.FromInts([], 0, 3)),
            new("case.json", NpyArray.FromBytes(Encoding.UTF8.GetBytes("{\"layers\": []}"))),
        };
        string path = Path.Combine(_dir, "rt.npz");
        Npz.WriteFile(path, arrays);

        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Equal(new[] { "z.npy", "a.npy", "m.sub.npy", "empty.npy", "case.json.npy" }, zip.Entries.Select(e => e.FullName));
            Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
            Assert.All(zip.Entries, e => Assert.Equal(new DateTime(1980, 1, 1), e.LastWriteTime.DateTime));
        }
        var raw = File.ReadAllBytes(path);
        Assert.Equal(0x04034b50u, BinaryPrimitives.ReadUInt32LittleEndian(raw));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(8))); // compression method: stored

        var back = Npz.ReadFile(path);
        Assert.Equal(arrays.Select(kv => kv.Key), back.Keys);
        foreach (var (key, array) in arrays)
        {
            Assert.Equal(array.DType, back[key].DType);
            Assert.Equal(array.Shape, back[key].Shape);
            AssertSameBits(array.Data, back[key].Data);
        }
    }

    [Fact]
    public void Npz_OutputIsDeterministic()
    {
        var arrays = new Dictionary<string, NpyArray>
        {
            ["x"] = NpyArray.FromDoubles(Enumerable.Range(0, 60).Select(i => Math.Sin(i)).ToArray(), 3, 4, 5),
            ["layer0.kernel"] = NpyArray.FromFloats(new float[12], 4, 3),
            ["labels"] = NpyArray.FromLongs([1, 2, 3]),
        };
        string p1 = Path.Combine(_dir, "one.npz");
        string p2 = Path.Combine(_dir, "two.npz");
        Npz.WriteFile(p1, arrays);
        Thread.Sleep(2100); // zip times have 2-second resolution: a wall-clock time would differ now
        Npz.WriteFile(p2, arrays);
        var b1 = File.ReadAllBytes(p1);
        Assert.Equal(b1, File.ReadAllBytes(p2));

        var ms = new MemoryStream();
        Npz.Write(ms, arrays);
        Assert.Equal(b1, ms.ToArray());

        Npy.WriteFile(p1, arrays["x"]);
        Npy.WriteFile(p2, arrays["x"]);
        Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
    }

    [Fact]
    public void Npz_WriteRejectsDuplicateOrEmptyNames()
    {
        var a = NpyArray.FromInts([1]);
        Assert.Throws<ArgumentException>(() => Npz.Write(new MemoryStream(), [new("k", a), new("k", a)]));
        Assert.Throws<ArgumentException>(() => Npz.Write(new MemoryStream(), [new("", a)]));
    }

    // ---------- helpers ----------

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", name);

    private static byte[] ToBytes(NpyArray a)
    {
        var ms = new MemoryStream();
        Npy.Write(ms, a);
        return ms.ToArray();
    }

    /// <summary>Offset of the data in a version 1.0 or 2.0 .npy.</summary>
    private static int HeaderLength(byte[] npy) => npy[6] == 1
        ? 10 + BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8))
        : 12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(npy.AsSpan(8));

    /// <summary>A hand-made .npy: magic, version, the header text padded to 64 as numpy does, data.</summary>
    private static byte[] RawNpy(string header, byte[] data, int major = 1)
    {
        int prefix = major == 1 ? 10 : 12;
        var text = Encoding.UTF8.GetBytes(header);
        int total = prefix + text.Length + 1;
        int pad = (64 - total % 64) % 64;
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0]);
        int len = text.Length + pad + 1;
        if (major == 1) ms.Write([(byte)len, (byte)(len >> 8)]);
        else ms.Write([(byte)len, (byte)(len >> 8), (byte)(len >> 16), (byte)(len >> 24)]);
        ms.Write(text);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        ms.WriteByte((byte)'\n');
        ms.Write(data);
        return ms.ToArray();
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] bytes)
    {
        using var s = zip.CreateEntry(name).Open();
        s.Write(bytes);
    }

    private static Array Sample(NpyDType dtype, int n)
    {
        var i = Enumerable.Range(0, n).ToArray();
        return dtype switch
        {
            NpyDType.Float32 => i.Select(k => (k % 5) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.MinValue, 3 => -0f, _ => k * 0.1f }).ToArray(),
            NpyDType.Float64 => i.Select(k => (k % 5) switch { 0 => double.NegativeInfinity, 1 => double.NaN, 2 => double.MaxValue, 3 => double.Epsilon, _ => k / 3.0 }).ToArray(),
            NpyDType.Int8 => i.Select(k => k % 2 == 0 ? sbyte.MinValue : (sbyte)k).ToArray(),
            NpyDType.Int16 => i.Select(k => k % 2 == 0 ? short.MinValue : (short)(k * 1000)).ToArray(),
            NpyDType.Int32 => i.Select(k => k % 2 == 0 ? int.MinValue : k * 100_000).ToArray(),
            NpyDType.Int64 => i.Select(k => k % 2 == 0 ? long.MinValue : k * 10_000_000_000L).ToArray(),
            NpyDType.UInt8 => i.Select(k => k % 2 == 0 ? byte.MaxValue : (byte)k).ToArray(),
            NpyDType.UInt16 => i.Select(k => k % 2 == 0 ? ushort.MaxValue : (ushort)(k * 1000)).ToArray(),
            NpyDType.UInt32 => i.Select(k => k % 2 == 0 ? uint.MaxValue : (uint)k * 100_000u).ToArray(),
            NpyDType.UInt64 => i.Select(k => k % 2 == 0 ? ulong.MaxValue : (ulong)k * 10_000_000_000UL).ToArray(),
            NpyDType.Bool => i.Select(k => k % 3 == 0).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    private static void AssertSameBits(Array expected, Array actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Length, actual.Length);
        var e = new byte[Buffer.ByteLength(expected)];
        var a = new byte[Buffer.ByteLength(actual)];
        Buffer.BlockCopy(expected, 0, e, 0, e.Length);
        Buffer.BlockCopy(actual, 0, a, 0, a.Length);
        Assert.Equal(e, a);
    }

    /// <summary>A read-only stream that cannot seek and hands out at most 7 bytes per read, like a pipe.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
