using RnnCluster.Data;
using RnnCluster.Jobs;
using Xunit;

namespace RnnCluster.Tests.Jobs;

public sealed class NpzDataTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rnncluster-npzdata-" + Guid.NewGuid().ToString("N"));

    public NpzDataTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private string WriteNpz(params (string Key, NpyArray Array)[] arrays)
    {
        var path = Path.Combine(_dir, "d.npz");
        Npz.WriteFile(path, arrays.Select(a => new KeyValuePair<string, NpyArray>(a.Key, a.Array)));
        return path;
    }

    private static float[] Ramp(int n) => [.. Enumerable.Range(0, n).Select(i => i * 0.1f)];

    private static DataSpec Spec(string path) => new() { Source = "npz", Path = path };

    [Fact]
    public void XYAndInitialStates_AreLoaded()
    {
        var path = WriteNpz(
            ("x", NpyArray.FromFloats(Ramp(5 * 4 * 3), 5, 4, 3)),
            ("y", NpyArray.FromDoubles([1, 2, 3, 4, 5])),
            ("initial_state0", NpyArray.FromFloats(Ramp(10), 5, 2)),
            ("initial_state1", NpyArray.FromFloats(Ramp(10), 5, 2)));
        var d = DataLoader.Load(Spec(path), "job");
        Assert.Equal([5, 4, 3], d.X.Shape);
        Assert.Equal([5, 1], d.Y.Shape); // a 1-D y becomes a column
        Assert.Equal(2, d.InitialStates.Count);
        Assert.All(d.InitialStates, s => Assert.Equal([5, 2], s.Shape));
        Assert.Equal(3f, d.Y.Data[2]);
    }

    [Fact]
    public void CustomKeys()
    {
        var path = WriteNpz(("inputs", NpyArray.FromFloats(Ramp(6), 2, 3, 1)), ("labels", NpyArray.FromInts([0, 1])));
        var d = DataLoader.Load(Spec(path) with { XKey = "inputs", YKey = "labels" }, "job");
        Assert.Equal([2, 1], d.Y.Shape);
        Assert.Empty(d.InitialStates);
    }

    [Fact]
    public void NaNInX_IsRejectedWithTheRow()
    {
        var x = Ramp(5 * 4 * 1);
        x[3 * 4 + 2] = float.NaN;
        var path = WriteNpz(("x", NpyArray.FromFloats(x, 5, 4, 1)), ("y", NpyArray.FromFloats(Ramp(5), 5, 1)));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"{path}: NaN in x at row 3", e.Message);
    }

    [Fact]
    public void InfInY_IsRejected()
    {
        var y = Ramp(5);
        y[4] = float.PositiveInfinity;
        var path = WriteNpz(("x", NpyArray.FromFloats(Ramp(5), 5, 1, 1)), ("y", NpyArray.FromFloats(y, 5, 1)));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"{path}: Inf in y at row 4", e.Message);
    }

    [Fact]
    public void MissingKey_ListsTheArrays()
    {
        var path = WriteNpz(("inputs", NpyArray.FromFloats(Ramp(2), 2, 1, 1)));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"{path}: no array 'x' (data.x_key; the file holds inputs)", e.Message);
    }

    [Fact]
    public void XMustBeThreeDimensional()
    {
        var path = WriteNpz(("x", NpyArray.FromFloats(Ramp(6), 2, 3)), ("y", NpyArray.FromFloats(Ramp(2))));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"{path}: x has shape (2, 3); expected (samples, timesteps, features), or integer token ids (samples, timesteps)", e.Message);
    }

    [Fact]
    public void RowCountsMustAgree()
    {
        var path = WriteNpz(("x", NpyArray.FromFloats(Ramp(6), 3, 2, 1)), ("y", NpyArray.FromFloats(Ramp(2))));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"{path}: x has 3 rows but y has 2", e.Message);
    }

    [Fact]
    public void GapInStateKeys_IsRejected()
    {
        var path = WriteNpz(
            ("x", NpyArray.FromFloats(Ramp(2), 2, 1, 1)), ("y", NpyArray.FromFloats(Ramp(2))),
            ("initial_state0", NpyArray.FromFloats(Ramp(2), 2, 1)), ("initial_state2", NpyArray.FromFloats(Ramp(2), 2, 1)));
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Contains("'initial_state2'", e.Message);
        Assert.Contains("initial_state1 is missing", e.Message);
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        var path = Path.Combine(_dir, "none.npz");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.Equal($"data file not found: {path}", e.Message);
    }

    [Fact]
    public void NotAZip_IsAJobError()
    {
        var path = Path.Combine(_dir, "bad.npz");
        File.WriteAllText(path, "not a zip");
        var e = Assert.Throws<JobException>(() => DataLoader.Load(Spec(path), "job"));
        Assert.StartsWith($"{path}: ", e.Message);
    }
}

public sealed class BuiltinDataTests
{
    [Fact]
    public void Shapes_OneStateTensorPerSlot_LevelInColumnZero()
    {
        var d = BuiltinData.Generate(100, 12, [16, 16, 4], seed: 5);
        Assert.Equal([100, 12, 1], d.X.Shape);
        Assert.Equal([100, 1], d.Y.Shape);
        Assert.Equal(3, d.InitialStates.Count);
        Assert.Equal([100, 16], d.InitialStates[0].Shape);
        Assert.Equal([100, 4], d.InitialStates[2].Shape);
        for (int i = 0; i < 100; i++)
        {
            float level = d.InitialStates[0].Data[i * 16];
            Assert.InRange(level, -1f, 1f);
            Assert.Equal(level, d.InitialStates[2].Data[i * 4]);
            for (int u = 1; u < 16; u++) Assert.Equal(0f, d.InitialStates[1].Data[i * 16 + u]);
            Assert.InRange(d.Y.Data[i] - level, -1.0001f, 1.0001f); // y - L is a sine value
        }
    }

    [Fact]
    public void XIsANoisySine_TargetIsItsNextValuePlusTheLevel()
    {
        const int t = 20;
        double w = BuiltinData.Frequency;
        var d = BuiltinData.Generate(50, t, [1], seed: 9);
        for (int i = 0; i < 50; i++)
        {
            // y - L = sin(wT + phi), so cos(wT + phi) = +-sqrt(1 - (y - L)^2), and the last input
            // x_{T-1} = sin(wT + phi - w) + noise = (y - L) cos w - cos(wT + phi) sin w + noise.
            double wave = d.Y.Data[i] - d.InitialStates[0].Data[i];
            double c = Math.Sqrt(Math.Max(0, 1 - wave * wave));
            double x = d.X.Data[i * t + t - 1];
            double error = Math.Min(Math.Abs(wave * Math.Cos(w) - c * Math.Sin(w) - x), Math.Abs(wave * Math.Cos(w) + c * Math.Sin(w) - x));
            Assert.True(error < 6 * BuiltinData.Noise, $"row {i}: x_T-1 = {x} does not continue to {wave}");
        }
    }

    [Fact]
    public void LevelVariance_IsAboutAThird()
    {
        var d = BuiltinData.Generate(4000, 5, [1], seed: 1);
        var levels = d.InitialStates[0].Data;
        double mean = levels.Average(v => (double)v);
        double variance = levels.Average(v => (v - mean) * (v - mean));
        Assert.InRange(variance, 0.31, 0.36);
    }

    [Fact]
    public void SameSeed_SameData_OtherSeed_OtherData()
    {
        var a = BuiltinData.Generate(64, 10, [8, 8], 7);
        var b = BuiltinData.Generate(64, 10, [8, 8], 7);
        var c = BuiltinData.Generate(64, 10, [8, 8], 8);
        Assert.Equal(a.X.Data, b.X.Data);
        Assert.Equal(a.Y.Data, b.Y.Data);
        Assert.Equal(a.InitialStates[1].Data, b.InitialStates[1].Data);
        Assert.NotEqual(a.X.Data, c.X.Data);
    }

    [Fact]
    public void LoadForJob_UsesTheModelsStateSlots()
    {
        var lstm = DataLoader.Load(DefaultJob.Spec, "default");
        Assert.Equal(2, lstm.InitialStates.Count); // LSTM: h and c
        Assert.Equal([2048, 16], lstm.InitialStates[1].Shape);
        Assert.Equal([2048, 20, 1], lstm.X.Shape);

        var gru = DefaultJob.Spec with
        {
            Model = new JobModel { Layers = [new() { Kind = "gru", Units = 5 }, new() { Kind = "dense", Units = 1 }] },
            Data = DefaultJob.Spec.Data with { Rows = 10, Timesteps = 3 },
        };
        var g = DataLoader.Load(gru, "gru");
        Assert.Single(g.InitialStates);
        Assert.Equal([10, 5], g.InitialStates[0].Shape);
    }

    [Fact]
    public void LoadWithoutStateSizes_ExplainsWhatIsNeeded()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.Load(new DataSpec(), "default"));
        Assert.StartsWith("default: builtin data 'phase_level' gives one initial state per model state slot", e.Message);
    }

    [Fact]
    public void ModelWithoutState_IsRejected()
    {
        var e = Assert.Throws<JobException>(() => BuiltinData.Generate(4, 4, [], 0));
        Assert.Contains("no recurrent state", e.Message);
    }
}
