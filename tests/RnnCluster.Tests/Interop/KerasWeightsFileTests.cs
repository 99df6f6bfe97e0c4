using RnnCluster.Interop;
using RnnCluster.Interop.Keras;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using static RnnCluster.Tests.Interop.InteropTestSupport;

namespace RnnCluster.Tests.Interop;

/// <summary>
/// Keras 3 <c>.weights.h5</c>: what we write is checked by h5py (paths, name attributes, dtypes,
/// shapes) and read back bit for bit; files in Keras's four layouts written by h5py
/// (tools/interop/keras_layouts.py) are read; mismatches are one-line errors naming the layer.
/// </summary>
public sealed class KerasWeightsFileTests
{
    /// <summary>Writes the weights in Keras's five HDF5 layouts with h5py; returns the folder.</summary>
    private static string KerasLayouts(ModelSpec spec, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "model.json"), spec.ToJson());
        WeightsFile.Save(Path.Combine(dir, "weights.npz"), weights);
        RunPython("keras_layouts.py", Path.Combine(dir, "model.json"), Path.Combine(dir, "weights.npz"), dir);
        return dir;
    }

    [Fact]
    public void Written_file_has_keras3_layout_as_h5py_sees_it_and_reads_back_identical()
    {
        var model = MixedModel();
        var dir = TempDir();
        var path = Path.Combine(dir, "model.weights.h5");
        KerasWeightsFile.Write(path, ModelWeights.Of(model));

        var h5 = Json(RunPython("h5_structure.py", path));
        var objects = h5.GetProperty("objects").EnumerateArray().ToDictionary(o => o.GetProperty("path").GetString()!);
        // LSTM, GRU, SimpleRNN, Dense, LSTM, Dense: per-class counters, cells under cell/vars.
        var expected = new (string Path, int[] Shape)[]
        {
            ("layers/lstm/cell/vars/0", [3, 16]), ("layers/lstm/cell/vars/1", [4, 16]), ("layers/lstm/cell/vars/2", [16]),
            ("layers/gru/cell/vars/0", [4, 15]), ("layers/gru/cell/vars/1", [5, 15]), ("layers/gru/cell/vars/2", [2, 15]),
            ("layers/simple_rnn/cell/vars/0", [5, 3]), ("layers/simple_rnn/cell/vars/1", [3, 3]), ("layers/simple_rnn/cell/vars/2", [3]),
            ("layers/dense/vars/0", [3, 6]), ("layers/dense/vars/1", [6]),
            ("layers/lstm_1/cell/vars/0", [6, 8]), ("layers/lstm_1/cell/vars/1", [2, 8]), ("layers/lstm_1/cell/vars/2", [8]),
            ("layers/dense_1/vars/0", [2, 2]), ("layers/dense_1/vars/1", [2]),
        };
        foreach (var (p, shape) in expected)
        {
            Assert.True(objects.TryGetValue(p, out var o), $"h5py finds no {p}");
            Assert.Equal("dataset", o.GetProperty("kind").GetString());
            Assert.Equal("<f4", o.GetProperty("dtype").GetString());
            Assert.Equal(shape, o.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray());
        }
        Assert.Equal(expected.Length, objects.Values.Count(o => o.GetProperty("kind").GetString() == "dataset"));
        Assert.Equal("lstm_cell", objects["layers/lstm/cell/vars"].GetProperty("attrs").GetProperty("name").GetString());
        Assert.Equal("sequential", objects["vars"].GetProperty("attrs").GetProperty("name").GetString());

        var back = KerasWeightsFile.Read(path, model.Spec);
        AssertSameWeights(model.GetWeights(), back.All);
    }

    [Theory]
    [InlineData("keras3.weights.h5")]
    [InlineData("keras3_0.weights.h5")]
    [InlineData("keras2_13.weights.h5")]
    [InlineData("legacy.h5")]
    [InlineData("legacy_model.h5")]
    public void Reads_every_keras_layout_written_by_h5py(string file)
    {
        var model = MixedModel();
        var dir = KerasLayouts(model.Spec, model.GetWeights());

        var back = KerasWeightsFile.Read(Path.Combine(dir, file), model.Spec);
        AssertSameWeights(model.GetWeights(), back.All);
        var loaded = Sequential.FromSpec(model.Spec, new ManagedKernels());
        loaded.SetWeights(back.All);
        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
    }

    [Fact]
    public void A_file_for_another_model_is_refused_naming_the_layer_and_shapes()
    {
        var model = MixedModel();
        var dir = TempDir();
        var path = Path.Combine(dir, "model.weights.h5");
        KerasWeightsFile.Write(path, ModelWeights.Of(model));

        // Wider first LSTM: shapes differ.
        var wider = model.Spec with { Layers = [model.Spec.Layers[0] with { Units = 7 }, .. model.Spec.Layers.Skip(1)] };
        var e = Assert.Throws<ModelException>(() => KerasWeightsFile.Read(path, wider));
        Assert.Contains("layers/lstm/cell/vars/0", e.Message);
        Assert.Contains("(3, 16)", e.Message);
        Assert.Contains("(3, 28)", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // GRU where the file has an LSTM.
        var other = model.Spec with { Layers = [model.Spec.Layers[0] with { Kind = LayerKinds.Gru }, .. model.Spec.Layers.Skip(1)] };
        e = Assert.Throws<ModelException>(() => KerasWeightsFile.Read(path, other));
        Assert.Contains("layers/gru/cell/vars/0 (GRU layer 0 kernel) has shape (4, 15); the model expects (3, 12)", e.Message);

        // A model with fewer layers leaves weights in the file unused.
        var shorter = new ModelSpec { InputFeatures = 3, Layers = [.. model.Spec.Layers.Take(4)] };
        e = Assert.Throws<ModelException>(() => KerasWeightsFile.Read(path, shorter));
        Assert.True(e.Message.Contains("lstm_1 holds weights, but the model has no such layer"), e.Message);
    }

    [Fact]
    public void Legacy_files_are_matched_by_position_and_refuse_a_different_layer_count()
    {
        var model = MixedModel();
        var dir = KerasLayouts(model.Spec, model.GetWeights());
        var shorter = new ModelSpec { InputFeatures = 3, Layers = [.. model.Spec.Layers.Take(4)] };
        var e = Assert.Throws<ModelException>(() => KerasWeightsFile.Read(Path.Combine(dir, "legacy.h5"), shorter));
        Assert.Contains("6 layer(s) with weights", e.Message);
    }

    [Fact]
    public void A_gru_without_reset_after_is_named_in_the_error()
    {
        // A Keras 2 GRU(reset_after=False) has a (3*units,) bias.
        var model = new Sequential(new ManagedKernels(), new Gru(2), new Dense(1));
        model.Build(1, 1);
        var dir = KerasLayouts(model.Spec, model.GetWeights().Select(w => w.Key == "layer0.bias" ? new KeyValuePair<string, Tensor>(w.Key, Tensor.Zeros(6)) : w));
        var e = Assert.Throws<ModelException>(() => KerasWeightsFile.Read(Path.Combine(dir, "keras3.weights.h5"), model.Spec));
        Assert.Contains("reset_after=False", e.Message);
    }
}
