using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>
/// Keras Embedding (token ids, mask_zero) feeding recurrent layers: forward and finite-difference
/// gradients against the double reference, the sparse gradient, token checks and npz token input.
/// </summary>
public sealed class EmbeddingTests
{
    private const int Vocabulary = 7, Width = 3, Batch = 4, Timesteps = 5;

    /// <summary>Token ids (B, T, 1) in [1, V) with trailing zeros (padding) per row: lengths 5, 3, 0, 2.</summary>
    private static Tensor Tokens(Random random)
    {
        int[] lengths = [5, 3, 0, 2];
        var x = Tensor.Zeros(Batch, Timesteps, 1);
        for (int b = 0; b < Batch; b++)
            for (int t = 0; t < lengths[b]; t++) x.Data[b * Timesteps + t] = 1 + random.Next(Vocabulary - 2);
        return x;
    }

    private static ModelSpec Spec(bool maskZero, string kind, bool sequences) => new()
    {
        InputFeatures = 1,
        Layers =
        [
            new LayerSpec { Kind = LayerKinds.Embedding, InputDim = Vocabulary, OutputDim = Width, MaskZero = maskZero },
            new LayerSpec { Kind = kind, Units = 3, ReturnSequences = sequences },
            new LayerSpec { Kind = LayerKinds.Dense, Units = 2 },
        ],
    };

    [Theory]
    [InlineData(true, LayerKinds.Gru, false, MathKind.Mkl)]
    [InlineData(true, LayerKinds.Gru, true, MathKind.Managed)]
    [InlineData(true, LayerKinds.Lstm, true, MathKind.Mkl)]
    [InlineData(false, LayerKinds.SimpleRnn, true, MathKind.Managed)]
    public void Embedding_matches_reference_forward_and_finite_difference_gradients(bool maskZero, string kind, bool sequences, MathKind math)
    {
        var spec = Spec(maskZero, kind, sequences);
        var model = Sequential.FromSpec(spec, GradientCheckTests.Kernels(math), 8);
        var random = new Random(8);
        ModelTestData.RandomizeWeights(model, random, scale: 1.0);
        var states = ModelTestData.RandomStates(model, random, Batch);
        var x = Tokens(random);
        var y = ModelTestData.Uniform(random, -1, 1, model.Network.PredictionShape(Batch, Timesteps));
        model.Compile("mse", new Sgd());

        var reference = ReferenceModel.Of(model);
        var refStates = states.Select(s => (double[]?)s.Doubles()).ToList();
        var expected = reference.Forward(x.Doubles(), Batch, Timesteps, refStates);
        var prediction = model.Predict(x, states);
        ModelTestData.AssertClose(expected.Output, prediction.Output.Doubles(), GradientCheckTests.ForwardRelative, GradientCheckTests.ForwardFloor, "prediction");

        var grads = model.ComputeGradients(x, y, states);
        double Loss() => reference.MeanLoss("mse", false, x.Doubles(), Batch, Timesteps, y.Doubles(), refStates);
        ModelTestData.AssertClose([Loss()], [grads.LossSum / grads.LossRows], GradientCheckTests.ForwardRelative, GradientCheckTests.ForwardFloor, "mean loss");
        foreach (var w in model.Network.Weights)
        {
            var fd = GradientCheckTests.FiniteDifferences(reference.Weights[w.Name], Loss);
            var analytic = grads.GradientSum.AsSpan(w.Offset, w.Length).ToArray().Select(g => g / grads.LossRows).ToArray();
            ModelTestData.AssertClose(fd, analytic, GradientCheckTests.GradientRelative, GradientCheckTests.GradientFloor, $"d loss / d {w.Name}");
        }
        var table = model.Network.Weights[0];
        Assert.Equal("layer0.embeddings", table.Name);
        Assert.True(GradientCheckTests.FiniteDifferences(reference.Weights[table.Name], Loss).Max(Math.Abs) > 0.01, "the embedding gradient is all tiny");
    }

    [Fact]
    public void Only_the_rows_of_tokens_in_the_batch_get_a_gradient_and_mask_zero_leaves_row_zero_untouched()
    {
        var model = Sequential.FromSpec(Spec(true, LayerKinds.Gru, true), new ManagedKernels(), 2);
        var random = new Random(2);
        var x = Tokens(random);
        model.Compile("mse", new Sgd());
        var grads = model.ComputeGradients(x, ModelTestData.Uniform(random, -1, 1, Batch, Timesteps, 2));
        var used = x.Data.Select(v => (int)v).Where(id => id != 0).ToHashSet();
        for (int id = 0; id < Vocabulary; id++)
        {
            var row = grads.GradientSum.AsSpan(id * Width, Width).ToArray();
            if (used.Contains(id)) Assert.Contains(row, v => v != 0f);
            else Assert.All(row, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_and_bad_specs_are_errors()
    {
        var model = Sequential.FromSpec(Spec(false, LayerKinds.Gru, false), new ManagedKernels(), 1);
        var x = Tensor.Zeros(1, 2, 1);
        x.Data[1] = Vocabulary;
        var e = Assert.Throws<ModelException>(() => model.Predict(x));
        Assert.Contains("row 0, timestep 1 is not a token id in [0, 7)", e.Message);
        x.Data[1] = 1.5f;
        Assert.Throws<ModelException>(() => model.Predict(x));
        Assert.Throws<ModelException>(() => (Spec(false, LayerKinds.Gru, false) with { InputFeatures = 2 }).Validate());
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 1, Layers = [new() { Kind = LayerKinds.Embedding, InputDim = 3 }, new() { Kind = LayerKinds.Gru, Units = 2 }] }.Validate());
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 1, Layers = [new() { Kind = LayerKinds.Gru, Units = 2, MaskZero = true }] }.Validate());
        var spec = ModelSpec.FromJson("""{"input_features": 1, "layers": [{"kind": "embedding", "input_dim": 5, "output_dim": 2, "mask_zero": true}, {"kind": "lstm", "units": 2}]}""");
        Assert.True(spec.IsMasked);
        Assert.Equal(spec.ToJson(), ModelSpec.FromJson(spec.ToJson()).ToJson());
    }

    [Fact]
    public void Integer_token_ids_in_an_npz_load_as_one_feature_per_step()
    {
        var dir = Directory.CreateTempSubdirectory("rnncluster-tokens-");
        try
        {
            var path = Path.Combine(dir.FullName, "t.npz");
            Npz.WriteFile(path, [new("x", NpyArray.FromInts([3, 1, 0, 2, 0, 0], 2, 3)), new("y", NpyArray.FromFloats([1f, 0f], 2, 1))]);
            var data = DataLoader.Load(new DataSpec { Source = DataSpec.NpzSource, Path = path }, "job");
            Assert.Equal([2, 3, 1], data.X.Shape);
            Assert.Equal([3f, 1f, 0f, 2f, 0f, 0f], data.X.Data);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
