using System.IO.Compression;
using System.Text.Json.Nodes;
using RnnCluster.Data;
using RnnCluster.Interop;
using RnnCluster.Interop.Keras;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using static RnnCluster.Tests.Interop.InteropTestSupport;

namespace RnnCluster.Tests.Interop;

/// <summary>
/// <c>.keras</c> archives: the Keras question's functional model (hand-written fixture,
/// tools/interop/make_keras_question.py) is read, predicts what float64 Keras equations give, and
/// trains as a job; our models round-trip; every unsupported construct is one line naming it.
/// </summary>
public sealed class KerasArchiveTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "keras", name);

    [Fact]
    public void The_keras_question_model_is_read_with_its_state_input_and_predicts_as_keras()
    {
        var k = KerasArchive.Read(Fixture("keras_question.keras"));
        Assert.Equal("Functional", k.ModelClass);
        Assert.Equal("3.16.0", k.KerasVersion);
        Assert.Equal(1, k.Spec.InputFeatures);
        Assert.Equal(20, k.Timesteps);
        Assert.Equal([LayerKinds.SimpleRnn, LayerKinds.Dense], k.Spec.Layers.Select(l => l.Kind));
        Assert.Equal(8, k.Spec.Layers[0].Units);
        Assert.Equal(["h0"], k.StateInputs);
        Assert.Equal("x", k.DataInputName);

        var model = Sequential.FromSpec(k.Spec, new ManagedKernels());
        model.SetWeights(k.Weights!.All);
        var expected = Npz.ReadFile(Fixture("keras_question_expected.npz"));
        var x = new Tensor(expected["x"].ToFloats(), expected["x"].Shape);
        var h0 = new Tensor(expected["h0"].ToFloats(), expected["h0"].Shape);
        var p = model.Predict(x, [h0]);
        AssertClose(expected["prediction"].ToDoubles(), p.Output.Data, "prediction");
        AssertClose(expected["final_state"].ToDoubles(), p.FinalStates[0].Data, "final state");
    }

    [Fact]
    public async Task The_keras_question_model_trains_as_a_job_reading_its_state_from_the_data()
    {
        var k = KerasArchive.Read(Fixture("keras_question.keras"));
        var dir = TempDir();
        // The built-in data gives each row's hidden level as the initial state (policy from_data),
        // which is what the model's h0 input is for; without it the loss cannot go below 1/3.
        var job = new JobSpec
        {
            Name = "keras-question",
            Model = new JobModel { Layers = k.Spec.Layers },
            Optimizer = new OptimizerSpec { LearningRate = 0.01f },
            Data = new DataSpec { Source = DataSpec.BuiltinSource, Builtin = BuiltinData.PhaseLevel, Rows = 1024, Timesteps = k.Timesteps ?? 20 },
            BatchSize = 64,
            Epochs = 8,
            ValidationSplit = 0.1,
            States = new StatePolicy { Policy = StatePolicyKind.FromData },
            Seed = 3,
        };
        var jobPath = Path.Combine(dir, "job.json");
        File.WriteAllText(jobPath, job.ToJson());
        var (code, output, error) = await RunCli("train", jobPath, "--workers", "2", "--out", Path.Combine(dir, "out"), "--math", "managed");
        Assert.True(code == 0, output + error);
        var metrics = File.ReadAllLines(Path.Combine(dir, "out", "metrics.csv"));
        var last = double.Parse(metrics[^1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(last < 0.15, $"final loss {last}: the state input was not used\n{output}");

        // The trained model goes back out as a .keras with h0 as an input, and reads back the same.
        var spec = ModelSpec.FromJson(File.ReadAllText(Path.Combine(dir, "out", "model.json")));
        var weights = new ModelWeights(spec, WeightsFile.Load(Path.Combine(dir, "out", "weights.npz")));
        KerasArchive.Write(Path.Combine(dir, "trained.keras"), weights, statesAsInputs: true, timesteps: 20);
        var back = KerasArchive.Read(Path.Combine(dir, "trained.keras"));
        Assert.Equal(["simple_rnn_h"], back.StateInputs);
        AssertSameWeights(weights.All, back.Weights!.All);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Our_models_round_trip_through_keras_archives_and_h5py_sees_keras3_layout(bool statesAsInputs)
    {
        var model = MixedModel();
        var dir = TempDir();
        var path = Path.Combine(dir, "model.keras");
        KerasArchive.Write(path, ModelWeights.Of(model), statesAsInputs, timesteps: 7);

        var back = KerasArchive.Read(path);
        Assert.Equal(statesAsInputs ? "Functional" : "Sequential", back.ModelClass);
        // Keras names every layer; ours were unnamed, so they come back named as their weights were.
        Assert.Equal(Named(model.Spec).ToJson(), back.Spec.ToJson());
        Assert.Equal(7, back.Timesteps);
        Assert.Equal(statesAsInputs ? 6 : 0, back.StateInputs.Count(s => s is not null));
        AssertSameWeights(model.GetWeights(), back.Weights!.All);

        using (var zip = ZipFile.OpenRead(path))
            Assert.Equal(["metadata.json", "config.json", "model.weights.h5"], zip.Entries.Select(e => e.FullName));
        var h5 = Json(RunPython("h5_structure.py", path, "model.weights.h5"));
        var paths = h5.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("path").GetString()).ToHashSet();
        Assert.Contains("layers/lstm_1/cell/vars/2", paths);
        Assert.Contains("layers/dense_1/vars/1", paths);
        Assert.Equal(statesAsInputs, paths.Contains("layers/input_layer_6/vars"));
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        { "LSTM", "recurrent_activation=hard_sigmoid", "hard_sigmoid" },
        { "GRU", "reset_after=False", "reset_after" },
        { "LSTM", "dropout=0.25", "dropout" },
        { "LSTM", "return_state=True", "return_state" },
        { "Dense", "use_bias=False", "use_bias" },
        { "Dense", "kernel_regularizer=L2", "kernel_regularizer" },
        { "Bidirectional", "is a Bidirectional, which is not supported", "class" },
        { "LSTM", "dtype 'mixed_float16'", "dtype" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Unsupported_constructs_are_refused_in_one_line_naming_them(string cls, string expected, string change)
    {
        var spec = new ModelSpec { InputFeatures = 2, Layers = [new LayerSpec { Kind = cls == "GRU" ? LayerKinds.Gru : LayerKinds.Lstm, Units = 3 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }] };
        var config = JsonNode.Parse(KerasConfigWriter.Write(spec, statesAsInputs: false, timesteps: null))!;
        var layer = config["config"]!["layers"]![cls == "Dense" ? 2 : 1]!;
        var c = layer["config"]!;
        switch (change)
        {
            case "hard_sigmoid": c["recurrent_activation"] = "hard_sigmoid"; break;
            case "reset_after": c["reset_after"] = false; break;
            case "dropout": c["dropout"] = 0.25; break;
            case "return_state": c["return_state"] = true; break;
            case "use_bias": c["use_bias"] = false; break;
            case "kernel_regularizer": c["kernel_regularizer"] = JsonNode.Parse("""{"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}}"""); break;
            case "class": layer["class_name"] = "Bidirectional"; break;
            case "dtype": c["dtype"]!["config"]!["name"] = "mixed_float16"; break;
        }
        var e = Assert.Throws<ModelException>(() => KerasConfigReader.Read(config.ToJsonString(), "m.keras"));
        Assert.Contains(expected, e.Message);
        Assert.Contains(cls == "Dense" ? "'dense'" : "'layer0'", e.Message);
        Assert.StartsWith("m.keras: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Functional_graphs_other_than_a_chain_are_refused()
    {
        var config = JsonNode.Parse(ReadConfig(Fixture("keras_question.keras")))!;
        // The Dense layer reads the input instead of the RNN: the RNN is off the chain.
        var dense = config["config"]!["layers"]![3]!;
        dense["inbound_nodes"]![0]!["args"]![0]!["config"]!["keras_history"]![0] = "x";
        var e = Assert.Throws<ModelException>(() => KerasConfigReader.Read(config.ToJsonString(), "q.keras"));
        Assert.Contains("'dense'", e.Message);

        // The state comes from a layer, not an Input.
        config = JsonNode.Parse(ReadConfig(Fixture("keras_question.keras")))!;
        var rnn = config["config"]!["layers"]![2]!;
        rnn["inbound_nodes"]![0]!["kwargs"]!["initial_state"]![0]!["config"]!["keras_history"]![0] = "dense";
        e = Assert.Throws<ModelException>(() => KerasConfigReader.Read(config.ToJsonString(), "q.keras"));
        Assert.Contains("initial_state of layer 'simple_rnn' comes from 'dense', which is not an Input", e.Message);
    }

    private static ModelSpec Named(ModelSpec spec) =>
        spec with { Layers = [.. spec.Layers.Select((l, i) => l with { Name = spec.LayerName(i) })] };

    private static string ReadConfig(string archive)
    {
        using var zip = ZipFile.OpenRead(archive);
        using var r = new StreamReader(zip.GetEntry("config.json")!.Open());
        return r.ReadToEnd();
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 + 1e-5 * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }
}
