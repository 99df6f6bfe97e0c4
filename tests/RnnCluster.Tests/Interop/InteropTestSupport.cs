using System.Diagnostics;
using System.Text.Json;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Tests.Jobs;
using RnnCluster.Tests.Model;

namespace RnnCluster.Tests.Interop;

/// <summary>Runs the Python checks in tools/interop (Debian's h5py and onnx, installed by test.sh), temporary folders, and models with known weights.</summary>
internal static class InteropTestSupport
{
    private const string Python = "/usr/bin/python3";

    public static string Tool(string name) => Path.Combine(JobTestSupport.RepoRoot, "tools", "interop", name);

    /// <summary>Runs a tools/interop script; a non-zero exit fails the test with its stderr.</summary>
    public static string RunPython(string script, params string[] args)
    {
        var (code, stdout, stderr) = TryRunPython(script, args);
        if (code != 0) throw new Xunit.Sdk.XunitException($"{script} exited {code}: {stderr}");
        return stdout;
    }

    public static (int Code, string Stdout, string Stderr) TryRunPython(string script, params string[] args)
    {
        if (!File.Exists(Python))
            throw new Xunit.Sdk.XunitException($"{Python} is missing: run tools/interop/install.sh (test.sh does)");
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Where numpy's BLAS has been switched to MKL (bench/setup-peer.sh), MKL's default threading layer fails to load.
        info.Environment["MKL_THREADING_LAYER"] = "SEQUENTIAL";
        info.ArgumentList.Add(Tool(script));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{script} did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the <c>rnncluster</c> command line in-process with its output and errors captured.</summary>
    public static async Task<(int Code, string Out, string Err)> RunCli(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = await RnnCluster.Coordinator.Program.CreateProgram().RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromMinutes(4));
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rnncluster-interop-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A parity case's model with the case's weights.</summary>
    public static (ParityCase Case, Sequential Model) ParityModel(string file, IMathKernels? kernels = null)
    {
        var c = new ParityCase(Path.Combine(ParityCase.Folder, file));
        var model = Sequential.FromSpec(c.Spec, kernels ?? new ManagedKernels());
        model.SetWeights(model.Network.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, c[w.Name])));
        return (c, model);
    }

    /// <summary>The case's initial states, one per state slot of the model.</summary>
    public static List<Tensor> InitialStates(ParityCase c, Sequential model) =>
        [.. model.Network.StateSlots.Select(s => c[$"layer{s.LayerIndex}.initial_state{s.StateIndex}"])];

    /// <summary>A model of every kind with random weights: LSTM -> GRU -> SimpleRNN(relu, go_backwards) -> Dense, two Dense at the end.</summary>
    public static Sequential MixedModel(int features = 3, int seed = 5)
    {
        var model = new Sequential(new ManagedKernels(),
            new Lstm(4, returnSequences: true), new Gru(5, returnSequences: true, goBackwards: true),
            new SimpleRnn(3, activation: "relu", returnSequences: true), new Dense(6, "tanh"), new Lstm(2), new Dense(2, "softmax"));
        model.Build(features, seed);
        // Non-zero biases everywhere, so a bias written to the wrong place shows.
        var random = new Random(seed);
        model.SetWeights(model.GetWeights().Select(w => new KeyValuePair<string, Tensor>(w.Key,
            new Tensor([.. w.Value.Data.Select(v => v + (float)(random.NextDouble() - 0.5) * 0.2f)], w.Value.Shape))));
        return model;
    }

    public static void AssertSameWeights(IEnumerable<KeyValuePair<string, Tensor>> expected, IEnumerable<KeyValuePair<string, Tensor>> actual)
    {
        var a = actual.ToDictionary(p => p.Key, p => p.Value);
        var e = expected.ToList();
        Xunit.Assert.Equal(e.Count, a.Count);
        foreach (var (name, t) in e)
        {
            Xunit.Assert.True(a.TryGetValue(name, out var other), $"weight {name} missing");
            Xunit.Assert.Equal(t.Shape, other!.Shape);
            Xunit.Assert.Equal(t.Data, other.Data);
        }
    }
}
