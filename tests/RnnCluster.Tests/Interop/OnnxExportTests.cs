using RnnCluster.Coordinator.Cli;
using RnnCluster.Interop;
using RnnCluster.Interop.Onnx;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Tests.Jobs;
using RnnCluster.Tests.Model;
using Xunit;
using static RnnCluster.Tests.Interop.InteropTestSupport;

namespace RnnCluster.Tests.Interop;

/// <summary>
/// ONNX export checked by running it: ONNX Runtime (CPU) must give our <c>Predict</c>'s
/// predictions and final states (relative 1e-5, absolute 1e-6) on every parity case's model, on a
/// model with every layer kind and option, and on the example jobs' trained models; a stateful
/// model is served over two consecutive batches by feeding the final states back. Debian's onnx
/// checker (full check, with shape inference) passes on every exported file.
/// </summary>
public sealed class OnnxExportTests
{
    private const double Relative = 1e-5;
    private const double Absolute = 1e-6;

    [Theory]
    [MemberData(nameof(ParityCase.All), MemberType = typeof(ParityCase))]
    public void Onnx_runtime_reproduces_predict_and_final_states_on_parity_models_over_two_stateful_batches(string file)
    {
        var (c, model) = ParityModel(file);
        var states = InitialStates(c, model);
        var bytes = OnnxExporter.ToBytes(ModelWeights.Of(model));
        using var ort = new OnnxRuntimeRunner(bytes, model.Spec);

        var ours = model.Predict(c["x"], [.. states]);
        var theirs = ort.Run(c["x"], states);
        AssertSame(ours, theirs, file);

        // Served statefully: the first batch's final states fed back as the second batch's initial states.
        var stateful = Sequential.FromSpec(c.Spec with { Layers = [.. c.Spec.Layers.Select(l => l.IsRecurrent ? l with { Stateful = true } : l)] }, new ManagedKernels());
        stateful.SetWeights(model.GetWeights());
        stateful.ResetStates(states);
        stateful.Predict(c["x"]);
        var second = stateful.Predict(c["stateful.x2"]);
        var served = ort.Run(c["stateful.x2"], theirs.FinalStates);
        AssertSame(second, served, file + " second batch");
        // And both agree with the float64 Keras reference of the parity case.
        AssertClose(c.Doubles("expected.stateful.prediction2"), served.Output.Data, 1e-4, 1e-5, file + " reference");

        CheckWithOnnxChecker(bytes, model.Spec);
    }

    [Fact]
    public void Every_layer_kind_and_option_exports_exactly()
    {
        var model = MixedModel(features: 3);
        var bytes = OnnxExporter.ToBytes(ModelWeights.Of(model));
        using var ort = new OnnxRuntimeRunner(bytes, model.Spec);
        var random = new Random(11);
        var x = new Tensor([.. Enumerable.Range(0, 4 * 9 * 3).Select(_ => (float)(random.NextDouble() * 2 - 1))], 4, 9, 3);
        var states = model.Network.StateSlots.Select(s => new Tensor([.. Enumerable.Range(0, 4 * s.Units).Select(_ => (float)(random.NextDouble() - 0.5))], 4, s.Units)).ToList();
        AssertSame(model.Predict(x, [.. states]), ort.Run(x, states), "mixed");
        // Other batch and sequence lengths through the same file (symbolic dimensions).
        var x2 = new Tensor([.. Enumerable.Range(0, 2 * 5 * 3).Select(_ => (float)(random.NextDouble() * 2 - 1))], 2, 5, 3);
        AssertSame(model.Predict(x2), ort.Run(x2, null), "mixed, zero states");

        // A Dense on a sequence output at the end: prediction (B, T, O).
        var seq = new Sequential(new ManagedKernels(), new Gru(3, returnSequences: true, goBackwards: true), new Dense(2, "sigmoid"));
        seq.Build(3, 2);
        using var ort2 = new OnnxRuntimeRunner(OnnxExporter.ToBytes(ModelWeights.Of(seq)), seq.Spec);
        AssertSame(seq.Predict(x), ort2.Run(x, null), "sequence output");
        Assert.Equal([4, 9, 2], ort2.Run(x, null).Output.Shape);

        CheckWithOnnxChecker(bytes, model.Spec);
    }

    public static TheoryData<string> Jobs => new() { "default.json", "co2-stateful.json", "digits.json" };

    [Theory]
    [MemberData(nameof(Jobs))]
    public async Task Example_jobs_trained_models_export_exactly(string jobFile)
    {
        var dir = TempDir();
        var path = JobTestSupport.JobFile(jobFile);
        var (code, output, error) = await RunCli("train", path, "--epochs", "2", "--workers", "2", "--out", dir);
        Assert.True(code == 0, output + error);

        var spec = ModelSpec.FromJson(File.ReadAllText(Path.Combine(dir, "model.json")));
        var weights = new ModelWeights(spec, WeightsFile.Load(Path.Combine(dir, "weights.npz")));
        var onnx = Path.Combine(dir, "model.onnx");
        OnnxExporter.Write(onnx, weights);
        var bytes = File.ReadAllBytes(onnx);
        using var ort = new OnnxRuntimeRunner(bytes, spec);

        var job = JobSpec.Load(path);
        var data = JobArguments.LoadData(job);
        var model = Sequential.FromSpec(spec, new MklKernels());
        model.SetWeights(weights.All);
        int rows = job.IsStateful ? job.BatchSize : Math.Min(64, data.X.Shape[0]);
        var x1 = Rows.Slice(data.X, 0, rows);
        var states = job.States.Policy == StatePolicyKind.FromData ? data.InitialStates.Select(s => Rows.Slice(s, 0, rows)).ToList() : null;
        var ours = model.Predict(x1, states?.Cast<Tensor?>().ToList());
        var theirs = ort.Run(x1, states);
        AssertSame(ours, theirs, jobFile);
        if (job.IsStateful)
        {
            // The next batch continues each row (streams are interleaved): serve it from the states just returned.
            var x2 = Rows.Slice(data.X, rows, rows);
            AssertSame(model.Predict(x2, [.. ours.FinalStates]), ort.Run(x2, theirs.FinalStates), jobFile + " second batch");
        }
        CheckWithOnnxChecker(bytes, spec);
    }

    /// <summary>Debian's onnx package: the checker with full_check, and the graph's inputs and outputs as it reads them.</summary>
    private static void CheckWithOnnxChecker(byte[] bytes, ModelSpec spec)
    {
        var path = Path.Combine(TempDir(), "model.onnx");
        File.WriteAllBytes(path, bytes);
        var report = Json(RunPython("onnx_check.py", path));
        Assert.Equal(OnnxExporter.Opset, report.GetProperty("opset").GetInt32());
        var inputs = report.GetProperty("inputs").EnumerateObject().Select(p => p.Name).ToList();
        var slots = new Network(spec, new ManagedKernels()).StateSlots;
        Assert.Equal([OnnxExporter.InputName, .. slots.Select(s => OnnxExporter.InitialStateName(spec, s))], inputs);
        var outputs = report.GetProperty("outputs").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Contains(OnnxExporter.OutputName, outputs);
        foreach (var s in slots) Assert.Contains(OnnxExporter.FinalStateName(spec, s), outputs);
    }

    private static void AssertSame(Prediction ours, Prediction theirs, string what)
    {
        Assert.Equal(ours.Output.Shape, theirs.Output.Shape);
        AssertClose([.. ours.Output.Data.Select(v => (double)v)], theirs.Output.Data, Relative, Absolute, what + " prediction");
        Assert.Equal(ours.FinalStates.Count, theirs.FinalStates.Count);
        for (int k = 0; k < ours.FinalStates.Count; k++)
        {
            Assert.Equal(ours.FinalStates[k].Shape, theirs.FinalStates[k].Shape);
            AssertClose([.. ours.FinalStates[k].Data.Select(v => (double)v)], theirs.FinalStates[k].Data, Relative, Absolute, $"{what} final state {k}");
        }
    }

    private static void AssertClose(double[] expected, float[] actual, double relative, double absolute, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double excess = Math.Abs(actual[i] - expected[i]) - (absolute + relative * Math.Abs(expected[i]));
            if (excess > worst) (worst, at) = (excess, i);
        }
        Assert.True(at < 0, at < 0 ? "" : $"{what}[{at}]: ONNX Runtime {actual[at]:R}, ours {expected[at]:R}");
    }
}
