using System.IO.Compression;
using System.Text;
using RnnCluster.Jobs;
using Xunit;

namespace RnnCluster.Tests.Jobs;

public sealed class CsvLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rnncluster-csv-" + Guid.NewGuid().ToString("N"));

    public CsvLoaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>a = row, b = 10 * row, c = 100 + row for rows 0..n-1.</summary>
    private string Series(int n, string name = "s.csv")
    {
        var sb = new StringBuilder("a,b,c\n");
        for (int r = 0; r < n; r++) sb.Append($"{r},{10 * r},{100 + r}\n");
        return Write(name, sb.ToString());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static DataSpec Windows(string path, int window, params string[] columns) =>
        new() { Source = "csv", Path = path, Columns = columns, Window = window };

    [Fact]
    public void Windows_XIsTheWindowAndYTheNextTarget()
    {
        var spec = Windows(Series(10), 3, "a", "b") with { TargetColumns = ["c"] };
        var d = DataLoader.Load(spec, "job");
        Assert.Equal([7, 3, 2], d.X.Shape);
        Assert.Equal([7, 1], d.Y.Shape);
        Assert.Empty(d.InitialStates);
        // Row 2: x = rows 2..4 of (a, b), y = c at row 5.
        Assert.Equal(new float[] { 2, 20, 3, 30, 4, 40 }, d.X.Data.AsSpan(2 * 6, 6).ToArray());
        Assert.Equal(105f, d.Y.Data[2]);
        Assert.Equal(["a", "b"], d.FeatureNames);
        Assert.Equal(["c"], d.TargetNames);
        Assert.Null(d.Scaling);
    }

    [Fact]
    public void Windows_HorizonAndStride()
    {
        var spec = Windows(Series(20), 4, "a") with { Horizon = 3, Stride = 5 };
        var d = DataLoader.Load(spec, "job");
        // Starts 0, 5, 10 (start + 4 + 3 - 1 <= 19).
        Assert.Equal([3, 4, 1], d.X.Shape);
        Assert.Equal(new float[] { 6, 11, 16 }, d.Y.Data); // target defaults to the feature columns
        Assert.Equal(10f, d.X.Data[2 * 4]);
    }

    [Fact]
    public void Gzip_GivesTheSameData()
    {
        var plain = Series(12);
        var gz = Path.Combine(_dir, "s.csv.gz");
        using (var output = File.Create(gz))
        using (var zip = new GZipStream(output, CompressionLevel.Optimal))
            zip.Write(File.ReadAllBytes(plain));
        var a = DataLoader.Load(Windows(plain, 3, "a", "c"), "job");
        var b = DataLoader.Load(Windows(gz, 3, "a", "c"), "job");
        Assert.Equal(a.X.Data, b.X.Data);
        Assert.Equal(a.Y.Data, b.Y.Data);
    }

    [Fact]
    public void QuotedHeader_IsRead()
    {
        var d = DataLoader.Load(Windows(JobTestSupport.DataFile("sunspots.csv"), 10, "SUNACTIVITY"), "job");
        Assert.Equal([299, 10, 1], d.X.Shape);
        Assert.Equal(5f, d.X.Data[0]);
    }

    [Fact]
    public void UnknownColumn_ListsTheColumns()
    {
        var path = Series(5);
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 2, "a", "foo"), "job"));
        Assert.Equal($"{path}: unknown column 'foo' (columns: a, b, c)", e.Message);
    }

    [Fact]
    public void UnknownTargetColumn_ListsTheColumns()
    {
        var path = Series(5);
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 2, "a") with { TargetColumns = ["z"] }, "job"));
        Assert.Equal($"{path}: unknown column 'z' (columns: a, b, c)", e.Message);
    }

    [Fact]
    public void EmptyCell_IsAnErrorNamingRowAndColumn()
    {
        var path = Write("gap.csv", "a,b\n1,2\n2,3\n3,4\n4,\n5,6\n");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 2, "a", "b"), "job"));
        Assert.Equal($"{path} row 5, column b: empty value (set data.missing to \"interpolate\" to fill gaps)", e.Message);
    }

    [Fact]
    public void NonNumericCell_IsAnError()
    {
        var path = Write("text.csv", "x,y\n1,2\nabc,3\n");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 1, "x"), "job"));
        Assert.Equal($"{path} row 3, column x: 'abc' is not a number", e.Message);
    }

    [Fact]
    public void UnusedColumns_MayHoldAnything()
    {
        var path = Write("mixed.csv", "date,v\n2001-01-01,1\n2001-01-02,2\n2001-01-03,3\n");
        var d = DataLoader.Load(Windows(path, 2, "v"), "job");
        Assert.Equal([1, 2, 1], d.X.Shape);
    }

    [Fact]
    public void WrongCellCount_NamesTheRow()
    {
        var path = Write("ragged.csv", "a,b\n1,2\n3\n");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 1, "a"), "job"));
        Assert.Equal($"{path} row 3: 1 cell(s), expected 2 (a, b)", e.Message);
    }

    [Fact]
    public void TooFewRows_SaysHowManyAreNeeded()
    {
        var path = Series(20);
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 50, "a"), "job"));
        Assert.Equal($"{path}: window 50 + horizon 1 needs at least 51 rows, found 20", e.Message);
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        var path = Path.Combine(_dir, "nope.csv");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 2, "a"), "job"));
        Assert.Equal($"data file not found: {path}", e.Message);
    }

    [Fact]
    public void Interpolate_FillsLinearlyAndAddsTheMissingFlag()
    {
        var path = Write("gaps.csv", "t,v\n0,\n1,1\n2,\n3,\n4,4\n5,\n");
        // 6 rows, window 5 + horizon 1 = 6: one window over rows 0..4, target row 5.
        var d = DataLoader.Load(Windows(path, 5, "v") with { Missing = "interpolate" }, "job");
        Assert.Equal([1, 5, 2], d.X.Shape);
        Assert.Equal(["v", "v_missing"], d.FeatureNames);
        Assert.Equal(new float[] { 1, 1, 1, 0, 2, 1, 3, 1, 4, 0 }, d.X.Data); // leading gap takes the first value
        Assert.Equal(4f, d.Y.Data[0]); // trailing gap takes the last value
    }

    [Fact]
    public void Co2_EmptyWeekIsAnErrorUnlessInterpolated()
    {
        var path = JobTestSupport.DataFile("co2.csv");
        var lines = File.ReadAllLines(path);
        int firstGap = Array.FindIndex(lines, 1, l => l.EndsWith(',')) + 1;
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Windows(path, 52, "co2"), "job"));
        Assert.Equal($"{path} row {firstGap}, column co2: empty value (set data.missing to \"interpolate\" to fill gaps)", e.Message);

        var d = DataLoader.Load(Windows(path, 1, "co2") with { Missing = "interpolate", Horizon = 1 }, "job");
        Assert.Equal([lines.Length - 2, 1, 2], d.X.Shape);
        int flagged = 0;
        for (int r = 0; r < d.Rows; r++) flagged += (int)d.X.Data[r * 2 + 1];
        int gapsInWindows = lines.Skip(1).Take(lines.Length - 2).Count(l => l.EndsWith(','));
        Assert.Equal(gapsInWindows, flagged);
        Assert.All(d.X.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Streams_InterleaveContiguousRuns()
    {
        // 40 rows, window 3, stride 3: starts 0, 3, ..., 36 (13 windows); 3 streams of 4 drop the oldest window.
        var spec = Windows(Series(40), 3, "a") with { Stride = 3, Streams = 3 };
        var d = DataLoader.Load(spec, "job");
        Assert.Equal([12, 3, 1], d.X.Shape);
        for (int k = 0; k + 1 < 4; k++)
            for (int j = 0; j < 3; j++)
            {
                float lastOfThis = d.X.Data[(k * 3 + j) * 3 + 2];
                float firstOfNext = d.X.Data[((k + 1) * 3 + j) * 3];
                Assert.Equal(lastOfThis + 1, firstOfNext); // row j of batch k+1 continues row j of batch k
                Assert.Equal(firstOfNext, d.Y.Data[k * 3 + j]); // and y is the next value
            }
        Assert.Equal(3f, d.X.Data[0]); // the oldest window (rows 0..2) was dropped
    }

    [Fact]
    public void StandardScale_UsesTrainingRowsAndMapsBack()
    {
        var spec = Windows(Series(30), 4, "a", "b") with { TargetColumns = ["c"], Scale = "standard" };
        var raw = DataLoader.Load(spec with { Scale = null }, "job");
        var scaled = DataLoader.Load(spec, "job", new DataLoadOptions { ValidationSplit = 0.5 });
        var s = Assert.IsType<Standardization>(scaled.Scaling);
        // 26 windows, 13 for training: their x cover rows 0..15, targets rows 4..16 -> rows 0..16.
        Assert.Equal(8.0, s.FeatureMean[0], 9);
        Assert.Equal(80.0, s.FeatureMean[1], 9);
        Assert.Equal(108.0, s.TargetMean[0], 9);
        Assert.Equal(Math.Sqrt((17 * 17 - 1) / 12.0), s.FeatureStd[0], 9);
        var back = s.UnscaleTargets(scaled.Y);
        for (int i = 0; i < raw.Y.Length; i++) Assert.Equal(raw.Y.Data[i], back.Data[i], 3);
        var rescaled = s.ScaleFeatures(raw.X);
        for (int i = 0; i < raw.X.Length; i++) Assert.Equal(scaled.X.Data[i], rescaled.Data[i], 4);
    }

    [Fact]
    public void Digits_SequencePerRow()
    {
        var spec = new DataSpec { Source = "csv", Path = JobTestSupport.DataFile("digits.csv.gz"), Header = false, Timesteps = 8, Features = 8, LabelColumn = "64" };
        var d = DataLoader.Load(spec, "job");
        Assert.Equal([1797, 8, 8], d.X.Shape);
        Assert.Equal([1797, 1], d.Y.Shape);
        // First row: 0,0,5,13,9,1,0,0 | 0,0,13,15,10,15,5,0 | ... label 0.
        Assert.Equal(new float[] { 0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13 }, d.X.Data.AsSpan(0, 11).ToArray());
        Assert.Equal(0f, d.Y.Data[0]);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), d.Y.Data.Distinct().Order());
    }

    [Fact]
    public void Digits_WithHeaderTrue_HintsAtTheHeaderOption()
    {
        var path = JobTestSupport.DataFile("digits.csv.gz");
        var spec = new DataSpec { Source = "csv", Path = path, Timesteps = 8, Features = 8, LabelColumn = "64" };
        var e = Assert.Throws<JobException>(() => DataLoader.Load(spec, "job"));
        Assert.Contains("set data.header to false", e.Message);
    }

    [Fact]
    public void SequencePerRow_ColumnCountMustMatch()
    {
        var path = Write("seq.csv", "p0,p1,p2,label\n1,2,3,0\n");
        var spec = new DataSpec { Source = "csv", Path = path, Timesteps = 2, Features = 2, LabelColumn = "label" };
        var e = Assert.Throws<JobException>(() => DataLoader.Load(spec, "job"));
        Assert.StartsWith($"{path}: 3 feature columns", e.Message);
    }
}
