using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Numerics;
using RnnCluster.Model;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Cli;

/// <summary>The CLI tests swap Console.Out and Console.Error, so they run alone, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console (Console.SetOut)";
}

/// <summary>
/// <c>rnncluster train|predict|evaluate</c> run in-process through <c>Program.Main</c>: what a
/// training run writes, and that every mistake ends with a non-zero exit code and one line on
/// stderr naming the problem.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private readonly ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rnncluster-cli-{Guid.NewGuid():N}");

    public CliTests(ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    private sealed record Result(int Code, string Out, string Err)
    {
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
    }

    /// <summary>Runs <c>Program.Main</c> with Console.Out and Console.Error captured (restored afterwards).</summary>
    private async Task<Result> Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(TextWriter.Synchronized(stdout));
        Console.SetError(TextWriter.Synchronized(stderr));
        int code;
        try
        {
            code = await RnnCluster.Coordinator.Program.Main(args).WaitAsync(Timeout);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        var result = new Result(code, stdout.ToString(), stderr.ToString());
        _output.WriteLine($"$ rnncluster {string.Join(' ', args)}\nexit {code}\n--- stdout\n{result.Out}--- stderr\n{result.Err}");
        return result;
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string WriteNpz(string name, params (string Key, float[] Data, int[] Shape)[] arrays)
    {
        var path = Path.Combine(_dir, name);
        Npz.WriteFile(path, arrays.Select(a => new KeyValuePair<string, NpyArray>(a.Key, NpyArray.FromFloats(a.Data, a.Shape))));
        return path;
    }

    /// <summary>An LSTM(4) -> Dense(1) job on an npz file; states from the data when <paramref name="fromData"/>.</summary>
    private string NpzJob(string jobName, string npzName, bool fromData = false) => Write(jobName, $$"""
        {
          "name": "npz-job",
          "model": { "layers": [ { "kind": "lstm", "units": 4 }, { "kind": "dense", "units": 1 } ] },
          "data": { "source": "npz", "path": "{{npzName}}" },
          "batch_size": 4,
          "epochs": 1,
          "states": { "policy": "{{(fromData ? "from_data" : "zeros")}}" }
        }
        """);

    private static float[] Values(int n, float scale = 0.1f) => [.. Enumerable.Range(0, n).Select(i => MathF.Sin(i) * scale)];

    private static void AssertOneLineError(Result r, string phrase, int code = 1)
    {
        Assert.Equal(code, r.Code);
        var lines = r.ErrLines;
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{r.Err}");
        Assert.StartsWith("rnncluster: ", lines[0]);
        Assert.Contains(phrase, lines[0]);
    }

    // ---------------------------------------------------------------------------------------
    // train, then predict and evaluate with its output
    // ---------------------------------------------------------------------------------------

    [Fact]
    public async Task Train_writes_the_model_folder_and_predict_and_evaluate_use_it()
    {
        var outDir = Path.Combine(_dir, "model");
        var train = await Run("train", "--workers", "2", "--epochs", "1", "--out", outDir);
        Assert.Equal(0, train.Code);
        Assert.Equal("", train.Err);
        Assert.Contains("local mode with 2 worker(s)", train.Out);
        Assert.Contains("epoch 1/1", train.Out);

        foreach (var file in new[] { "weights.npz", "model.json", "metrics.csv", "loss.png" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} is missing");
        var model = ModelSpec.FromJson(File.ReadAllText(Path.Combine(outDir, "model.json")));
        Assert.Equal(DefaultJob.Spec.ModelFor(1).ToJson(), model.ToJson());
        var weights = WeightsFile.Load(Path.Combine(outDir, "weights.npz"));
        var network = new Network(model, new ManagedKernels());
        Assert.Equal(network.Weights.Select(w => w.Name), weights.Select(w => w.Key));
        Assert.All(weights, w => Assert.All(w.Value.Data, v => Assert.True(float.IsFinite(v))));
        var csv = File.ReadAllLines(Path.Combine(outDir, "metrics.csv"));
        Assert.Equal(2, csv.Length); // header + one epoch
        Assert.StartsWith("epoch", csv[0]);
        var png = File.ReadAllBytes(Path.Combine(outDir, "loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);

        var predict = await Run("predict", "--model", outDir);
        Assert.Equal(0, predict.Code);
        Assert.Equal("", predict.Err);
        var predictions = Npz.ReadFile(Path.Combine(outDir, "predictions.npz"));
        Assert.Equal(new[] { 2048, 1 }, predictions["prediction"].Shape);
        Assert.True(predictions.ContainsKey("final_state0"));

        var predictOut = Path.Combine(_dir, "p.npz");
        Assert.Equal(0, (await Run("predict", "--model", outDir, "--out", predictOut)).Code);
        Assert.True(File.Exists(predictOut));

        var evaluate = await Run("evaluate", "--model", outDir);
        Assert.Equal(0, evaluate.Code);
        Assert.Equal("", evaluate.Err);
        Assert.Matches(@"^loss \d+\.\d{6}.*\(2048 rows\)", evaluate.Out.Trim());

        // The model folder with a job of another feature count is refused in one line.
        var wide = WriteNpz("wide.npz", ("x", Values(8 * 3 * 2), [8, 3, 2]), ("y", Values(8), [8, 1]));
        AssertOneLineError(await Run("evaluate", NpzJob("wide.json", Path.GetFileName(wide)), "--model", outDir), "expects 1");
    }

    [Fact]
    public async Task Train_a_small_job_file_with_all_options()
    {
        var npz = WriteNpz("ok.npz", ("x", Values(12 * 3 * 2), [12, 3, 2]), ("y", Values(12), [12, 1]));
        var job = NpzJob("ok.json", Path.GetFileName(npz));
        var outDir = Path.Combine(_dir, "out-ok");
        var r = await Run("train", job, "--workers", "3", "--seed", "11", "--epochs", "2", "--math", "managed", "--out", outDir);
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        Assert.Contains("math: managed", r.Out);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Length);
    }

    // ---------------------------------------------------------------------------------------
    // mistakes: exit code != 0 and one line on stderr
    // ---------------------------------------------------------------------------------------

    [Fact]
    public async Task A_malformed_job_file_is_one_line()
    {
        var job = Write("bad.json", """{ "name": "bad", "model": { "layers": [ """);
        AssertOneLineError(await Run("train", job, "--workers", "1"), "malformed job file");
    }

    [Fact]
    public async Task A_missing_job_file_is_one_line() =>
        AssertOneLineError(await Run("train", Path.Combine(_dir, "nope.json")), "job file not found");

    [Fact]
    public async Task A_missing_data_file_is_one_line() =>
        AssertOneLineError(await Run("train", NpzJob("missing.json", "missing.npz"), "--workers", "1"), "data file not found");

    [Fact]
    public async Task An_unknown_column_is_one_line()
    {
        Write("series.csv", "time,value\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"{i},{Math.Sin(i):0.000}\n")));
        var job = Write("csv.json", """
            {
              "name": "csv-job",
              "model": { "layers": [ { "kind": "gru", "units": 3 }, { "kind": "dense", "units": 1 } ] },
              "data": { "source": "csv", "path": "series.csv", "columns": [ "valeu" ], "window": 4 },
              "batch_size": 4,
              "epochs": 1
            }
            """);
        AssertOneLineError(await Run("train", job, "--workers", "1"), "unknown column 'valeu'");
    }

    [Fact]
    public async Task NaN_in_the_data_is_one_line()
    {
        var x = Values(8 * 3 * 2);
        x[5 * 6 + 2] = float.NaN; // row 5
        var npz = WriteNpz("nan.npz", ("x", x, [8, 3, 2]), ("y", Values(8), [8, 1]));
        AssertOneLineError(await Run("train", NpzJob("nan.json", Path.GetFileName(npz)), "--workers", "1"), "NaN in x at row 5");
    }

    [Fact]
    public async Task Data_that_does_not_fit_the_model_is_one_line()
    {
        var npz = WriteNpz("wide-y.npz", ("x", Values(8 * 3 * 2), [8, 3, 2]), ("y", Values(16), [8, 2]));
        AssertOneLineError(await Run("train", NpzJob("wide-y.json", Path.GetFileName(npz)), "--workers", "1"), "y has shape (8, 2)");
    }

    [Fact]
    public async Task An_initial_state_of_the_wrong_shape_is_one_line()
    {
        var npz = WriteNpz("states.npz",
            ("x", Values(8 * 3 * 2), [8, 3, 2]), ("y", Values(8), [8, 1]),
            ("initial_state0", Values(8 * 3), [8, 3]), ("initial_state1", Values(8 * 3), [8, 3]));
        AssertOneLineError(await Run("train", NpzJob("states.json", Path.GetFileName(npz), fromData: true), "--workers", "1"), "initial state 0 has shape (8, 3)");
    }

    [Theory]
    [InlineData("unknown option --bogus (see 'rnncluster train --help')", "train", "--bogus", "1")]
    [InlineData("unknown option --wrkers; did you mean --workers?", "train", "--wrkers", "2")]
    [InlineData("unknown option --wrkers; did you mean --workers?", "train", "--wrkers")]
    [InlineData("option --workers needs a value", "train", "--workers")]
    [InlineData("--workers must be at least 1, got 0", "train", "--workers", "0")]
    [InlineData("--epochs expects an integer, got 'many'", "train", "--epochs", "many")]
    [InlineData("unexpected argument 'b.json'", "train", "a.json", "b.json")]
    [InlineData("unknown command 'fly' (see 'rnncluster --help')", "fly")]
    [InlineData("unknown command 'trian'; did you mean train?", "trian")]
    [InlineData("no command given")]
    [InlineData("option --model DIR is required", "predict")]
    [InlineData("unknown option --epochs (see 'rnncluster evaluate --help')", "evaluate", "--epochs", "3", "--model", "x")]
    [InlineData("--contact is required", "status")]
    [InlineData("port must be a number from 0 to 65535, got 'abc'", "coordinator", "--port", "abc")]
    [InlineData("--log-level expects trace, debug, info, warning or error, got 'loud'", "coordinator", "--log-level", "loud")]
    [InlineData("unknown command 'fly'", "help", "fly")]
    public async Task Usage_mistakes_exit_2_with_one_line(string phrase, params string[] args) =>
        AssertOneLineError(await Run(args), phrase, code: 2);

    [Fact]
    public async Task An_unknown_math_backend_is_one_line() =>
        AssertOneLineError(await Run("train", "--math", "gpu", "--workers", "1"), "unknown math backend 'gpu'");

    [Fact]
    public async Task Predict_with_a_missing_model_folder_is_one_line()
    {
        AssertOneLineError(await Run("predict", "--model", Path.Combine(_dir, "no-such-model")), "model file not found");
        AssertOneLineError(await Run("evaluate", "--model", Path.Combine(_dir, "no-such-model")), "model file not found");
    }

    [Fact]
    public async Task Predict_with_a_model_folder_without_weights_or_with_a_broken_model_is_one_line()
    {
        var dir = Path.Combine(_dir, "half-model");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "model.json"), DefaultJob.Spec.ModelFor(1).ToJson());
        AssertOneLineError(await Run("predict", "--model", dir), "weights file not found");

        File.WriteAllText(Path.Combine(dir, "model.json"), "{ not json");
        var r = await Run("predict", "--model", dir);
        Assert.NotEqual(0, r.Code);
        Assert.Single(r.ErrLines);
    }

    [Fact]
    public async Task An_out_folder_that_is_a_file_is_one_line()
    {
        var npz = WriteNpz("small.npz", ("x", Values(8 * 3 * 2), [8, 3, 2]), ("y", Values(8), [8, 1]));
        var blocker = Write("not-a-folder", "a file where the output folder should go");
        var job = NpzJob("small.json", Path.GetFileName(npz));
        // Refused before training.
        AssertOneLineError(await Run("train", job, "--workers", "1", "--out", blocker), "not-a-folder");
        // A folder that cannot be created under it: found when the outputs are written.
        AssertOneLineError(await Run("train", job, "--workers", "1", "--out", Path.Combine(blocker, "sub")), "cannot write the output folder");
    }

    [Fact]
    public async Task A_predict_out_path_that_is_a_folder_is_one_line()
    {
        var npz = WriteNpz("small.npz", ("x", Values(8 * 3 * 2), [8, 3, 2]), ("y", Values(8), [8, 1]));
        var job = NpzJob("small.json", Path.GetFileName(npz));
        var model = Path.Combine(_dir, "small-model");
        Assert.Equal(0, (await Run("train", job, "--workers", "1", "--out", model)).Code);
        AssertOneLineError(await Run("predict", job, "--model", model, "--out", _dir), Path.GetFileName(_dir));
    }
}
