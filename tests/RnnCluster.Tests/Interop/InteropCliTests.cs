using RnnCluster.Data;
using RnnCluster.Interop;
using RnnCluster.Interop.Keras;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using static RnnCluster.Tests.Interop.InteropTestSupport;

namespace RnnCluster.Tests.Interop;

/// <summary><c>rnncluster export</c> and <c>rnncluster summary</c> through the command line, with what they write checked by reading it back and running it.</summary>
public sealed class InteropCliTests
{
    private static string ModelDir(Sequential model)
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "model.json"), model.Spec.ToJson());
        model.Save(Path.Combine(dir, "weights.npz"));
        return dir;
    }

    [Fact]
    public async Task Export_writes_onnx_keras_and_weights_h5_that_read_back_and_run()
    {
        var model = MixedModel();
        var dir = ModelDir(model);
        var (code, output, error) = await RunCli("export", dir, "--format", "onnx", "--out", Path.Combine(dir, "m.onnx"));
        Assert.True(code == 0, error);
        Assert.Contains("m.onnx (onnx)", output);
        var x = new Tensor([.. Enumerable.Range(0, 2 * 6 * 3).Select(i => MathF.Sin(i))], 2, 6, 3);
        using (var ort = new OnnxRuntimeRunner(File.ReadAllBytes(Path.Combine(dir, "m.onnx")), model.Spec))
            Assert.Equal(model.Predict(x).Output.Data.Select(v => Math.Round(v, 4)), ort.Run(x, null).Output.Data.Select(v => Math.Round(v, 4)));

        Assert.Equal(0, (await RunCli("export", dir, "--format", "keras", "--out", Path.Combine(dir, "m.keras"), "--state-inputs")).Code);
        var k = KerasArchive.Read(Path.Combine(dir, "m.keras"));
        Assert.True(k.HasStateInputs);
        AssertSameWeights(model.GetWeights(), k.Weights!.All);

        Assert.Equal(0, (await RunCli("export", dir, "--format", "weights.h5", "--out", Path.Combine(dir, "m.weights.h5"))).Code);
        AssertSameWeights(model.GetWeights(), KerasWeightsFile.Read(Path.Combine(dir, "m.weights.h5"), model.Spec).All);
    }

    [Fact]
    public async Task The_keras_question_archive_exports_to_onnx_and_onnx_runtime_gives_keras_numbers()
    {
        var dir = TempDir();
        var archive = Path.Combine(AppContext.BaseDirectory, "fixtures", "keras", "keras_question.keras");
        var onnx = Path.Combine(dir, "q.onnx");
        Assert.Equal(0, (await RunCli("export", archive, "--out", onnx)).Code);
        var expected = Npz.ReadFile(Path.Combine(AppContext.BaseDirectory, "fixtures", "keras", "keras_question_expected.npz"));
        var spec = KerasArchive.Read(archive).Spec;
        using var ort = new OnnxRuntimeRunner(File.ReadAllBytes(onnx), spec);
        var p = ort.Run(new Tensor(expected["x"].ToFloats(), expected["x"].Shape), [new Tensor(expected["h0"].ToFloats(), expected["h0"].Shape)]);
        var y = expected["prediction"].ToDoubles();
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(p.Output.Data[i] - y[i]) <= 1e-5 + 1e-5 * Math.Abs(y[i]), $"prediction[{i}] {p.Output.Data[i]} vs {y[i]}");
    }

    [Fact]
    public async Task Export_errors_are_one_line_and_exit_1()
    {
        var dir = TempDir();
        var (code, _, error) = await RunCli("export", Path.Combine(dir, "missing"), "--out", Path.Combine(dir, "m.onnx"));
        Assert.Equal(1, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // A .keras whose LSTM has hard_sigmoid gates: refused, naming the layer and the option.
        var spec = new ModelSpec { InputFeatures = 1, Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = 2 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }] };
        var model = Sequential.FromSpec(spec, new ManagedKernels());
        var archive = Path.Combine(dir, "hard.keras");
        KerasArchive.Write(archive, ModelWeights.Of(model));
        var config = ReadEntry(archive, "config.json").Replace("\"recurrent_activation\":\"sigmoid\"", "\"recurrent_activation\":\"hard_sigmoid\"");
        ReplaceEntry(archive, "config.json", config);
        (code, _, error) = await RunCli("export", archive, "--out", Path.Combine(dir, "m.onnx"));
        Assert.Equal(1, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("layer 'layer0' (LSTM): recurrent_activation=hard_sigmoid is not supported", lines[0]);
        (code, _, error) = await RunCli("summary", archive);
        Assert.Equal(1, code);
        Assert.Contains("hard_sigmoid", error);
    }

    [Fact]
    public async Task Summary_describes_a_folder_a_keras_archive_h5_files_and_onnx_alike()
    {
        var model = MixedModel();
        var dir = ModelDir(model);
        KerasArchive.Write(Path.Combine(dir, "m.keras"), ModelWeights.Of(model), statesAsInputs: true, timesteps: 9);
        RnnCluster.Interop.Onnx.OnnxExporter.Write(Path.Combine(dir, "m.onnx"), ModelWeights.Of(model));
        RunPython("keras_layouts.py", Path.Combine(dir, "model.json"), Path.Combine(dir, "weights.npz"), dir);
        int parameters = model.Network.ParameterCount;
        foreach (var source in new[] { dir, "m.keras", "m.onnx", "keras3.weights.h5", "keras2_13.weights.h5", "legacy.h5", "legacy_model.h5" })
        {
            var path = source == dir ? dir : Path.Combine(dir, source);
            var (code, output, error) = await RunCli("summary", path);
            Assert.True(code == 0, $"{source}: {error}");
            Assert.Contains($"Total params: {parameters:N0}", output);
            // LSTM(4) on 3 features: 4 * 4 * (3 + 4 + 1) = 128 parameters, two state slots.
            Assert.Matches(@"\(LSTM[^)]*\)\s+\(None, (None|9), 4\)\s+128\s+h \(None, 4\)", output);
            Assert.Contains("State slots: 6", output);
            // A weights-only file does not record activations: it says so instead.
            if (source is "keras3.weights.h5" or "keras2_13.weights.h5" or "legacy.h5") Assert.Contains("Note: weights only", output);
            else Assert.Contains("(Dense, softmax)", output);
        }
        var keras = (await RunCli("summary", Path.Combine(dir, "m.keras"))).Out;
        Assert.Contains("(None, 9, 3)", keras);
        Assert.Contains("<- Input 'layer0_h'", keras);
        Assert.Contains("(GRU, go_backwards)", keras);
        var onnx = (await RunCli("summary", Path.Combine(dir, "m.onnx"))).Out;
        Assert.Contains("opset 14", onnx);
        Assert.Contains("<- layer4.initial_state1", onnx);
        Assert.Contains("(SimpleRNN, relu)", onnx);
    }

    private static string ReadEntry(string archive, string name)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(archive);
        using var r = new StreamReader(zip.GetEntry(name)!.Open());
        return r.ReadToEnd();
    }

    private static void ReplaceEntry(string archive, string name, string text)
    {
        using var zip = System.IO.Compression.ZipFile.Open(archive, System.IO.Compression.ZipArchiveMode.Update);
        zip.GetEntry(name)!.Delete();
        using var w = new StreamWriter(zip.CreateEntry(name).Open());
        w.Write(text);
    }
}
