using RnnCluster.Model;
using RnnCluster.Model.Recurrent;
using RnnCluster.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Model;

/// <summary>
/// Keras masking (a <c>masking</c> layer first): the engine against the double-precision
/// <see cref="ReferenceModel"/>, which applies Keras's rules step by step (a masked step keeps the
/// states and the previous output, which starts at zeros; the loss is the mean over the unmasked
/// steps of the whole batch). Forward values directly, the gradients of every weight and initial
/// state through central finite differences of the reference's mean loss. Every cell kind,
/// stacked, return_sequences, go_backwards, leading, trailing and inner padding, a row masked
/// throughout, and non-zero initial states.
/// </summary>
public sealed class MaskingTests(ITestOutputHelper output)
{
    // GradientCheckTests explains these tolerances.
    private const double ForwardRelative = GradientCheckTests.ForwardRelative;
    private const double ForwardFloor = GradientCheckTests.ForwardFloor;
    private const double GradientRelative = GradientCheckTests.GradientRelative;
    private const double GradientFloor = GradientCheckTests.GradientFloor;

    /// <summary>Which steps of each row are padding: trailing (lengths), leading, or holes inside.</summary>
    public enum Padding
    {
        Trailing,
        Leading,
        Holes,
    }

    public sealed record Case(LayerSpec[] Layers, string Loss, Padding Padding, int Batch = 4, int Timesteps = 5, int Features = 3, int Seed = 1);

    private static LayerSpec Rnn(int units, bool seq = false, bool back = false) => GradientCheckTests.Rnn(units, seq, back);

    private static LayerSpec Lstm(int units, bool seq = false, bool back = false) => GradientCheckTests.Lstm(units, seq, back);

    private static LayerSpec Gru(int units, bool seq = false, bool back = false) => GradientCheckTests.Gru(units, seq, back);

    private static LayerSpec Dense(int units, string act = "linear") => GradientCheckTests.Dense(units, act);

    private static readonly LayerSpec Mask = new() { Kind = LayerKinds.Masking };

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>
    {
        ["simple_rnn-trailing"] = new([Mask, Rnn(4), Dense(2)], "mse", Padding.Trailing, Seed: 31),
        ["lstm-trailing"] = new([Mask, Lstm(3), Dense(2)], "mse", Padding.Trailing, Seed: 32),
        ["gru-trailing"] = new([Mask, Gru(3), Dense(2)], "mse", Padding.Trailing, Seed: 33),
        ["lstm-leading"] = new([Mask, Lstm(3), Dense(2)], "mse", Padding.Leading, Seed: 34),
        ["gru-leading-backwards"] = new([Mask, Gru(3, back: true), Dense(2)], "mse", Padding.Leading, Seed: 35),
        ["lstm_seq-dense-trailing"] = new([Mask, Lstm(3, seq: true), Dense(2)], "mse", Padding.Trailing, Seed: 36),
        ["gru_seq-dense-leading"] = new([Mask, Gru(3, seq: true), Dense(2)], "mse", Padding.Leading, Seed: 37),
        ["simple_rnn_seq_backwards-holes"] = new([Mask, Rnn(3, seq: true, back: true), Dense(2, "sigmoid")], "binary_crossentropy", Padding.Holes, Seed: 38),
        ["lstm_seq-gru_seq-dense-softmax-trailing"] = new([Mask, Lstm(3, seq: true), Gru(3, seq: true), Dense(3, "softmax")], "sparse_categorical_crossentropy", Padding.Trailing, Seed: 39),
        ["gru_seq_backwards-lstm-dense-leading"] = new([Mask, Gru(3, seq: true, back: true), Lstm(3), Dense(2)], "mse", Padding.Leading, Seed: 40),
        ["lstm_seq_backwards-simple_rnn_seq-holes"] = new([Mask, Lstm(3, seq: true, back: true), Rnn(3, seq: true), Dense(2)], "mae", Padding.Holes, Seed: 41),
        ["gru-many-rows-trailing"] = new([Mask, Gru(4, seq: true), Dense(1)], "mse", Padding.Trailing, Batch: 20, Timesteps: 6, Features: 2, Seed: 42),
    };

    public static IEnumerable<object[]> All() =>
        Cases.Keys.SelectMany(name => new[] { new object[] { name, MathKind.Mkl }, [name, MathKind.Managed] });

    private static IMathKernels Kernels(MathKind kind) => kind == MathKind.Mkl ? new MklKernels() : new ManagedKernels();

    /// <summary>
    /// Row r's kept steps: trailing padding keeps the first length(r) steps, leading the last,
    /// holes drop a few inner steps. Row 1 is always masked throughout (its final state must be
    /// its initial state and its loss must count for nothing); row 0 is never masked.
    /// </summary>
    public static bool[][] Keep(Padding padding, int batch, int timesteps, Random random)
    {
        var keep = new bool[batch][];
        for (int r = 0; r < batch; r++)
        {
            keep[r] = new bool[timesteps];
            int length = r == 0 ? timesteps : r == 1 ? 0 : 1 + random.Next(timesteps - 1);
            for (int t = 0; t < timesteps; t++)
                keep[r][t] = padding switch
                {
                    Padding.Trailing => t < length,
                    Padding.Leading => t >= timesteps - length,
                    _ => r == 0 || (r != 1 && random.Next(3) != 0),
                };
        }
        return keep;
    }

    /// <summary>x in (-1, 1), with the masked steps set to the mask value 0 in every feature.</summary>
    public static Tensor PaddedInput(Random random, bool[][] keep, int features)
    {
        int batch = keep.Length, timesteps = keep[0].Length;
        var x = ModelTestData.Uniform(random, -1, 1, batch, timesteps, features);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < timesteps; t++)
                if (!keep[b][t]) x.Data.AsSpan((b * timesteps + t) * features, features).Clear();
        return x;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Masked_model_matches_reference_forward_and_finite_difference_gradients(string name, MathKind math)
    {
        var c = Cases[name];
        var spec = new ModelSpec { InputFeatures = c.Features, Layers = c.Layers };
        var model = Sequential.FromSpec(spec, Kernels(math), c.Seed);
        var random = new Random(c.Seed);
        ModelTestData.RandomizeWeights(model, random);
        var states = ModelTestData.RandomStates(model, random, c.Batch);
        var keep = Keep(c.Padding, c.Batch, c.Timesteps, random);
        var x = PaddedInput(random, keep, c.Features);
        var y = GradientCheckTests.Targets(random, c.Loss, model.Network.PredictionShape(c.Batch, c.Timesteps));
        model.Compile(Losses.Parse(c.Loss), new Sgd());

        var reference = ReferenceModel.Of(model);
        var refStates = states.Select(s => (double[]?)s.Doubles()).ToList();
        var xd = x.Doubles();
        var yd = y.Doubles();

        var prediction = model.Predict(x, states);
        var expected = reference.Forward(xd, c.Batch, c.Timesteps, refStates);
        ModelTestData.AssertClose(expected.Output, prediction.Output.Doubles(), ForwardRelative, ForwardFloor, $"{name}: prediction");
        for (int k = 0; k < prediction.FinalStates.Count; k++)
            ModelTestData.AssertClose(expected.FinalStates[k], prediction.FinalStates[k].Doubles(), ForwardRelative, ForwardFloor, $"{name}: final state {k}");

        var grads = model.ComputeGradients(x, y, states);
        double Loss() => reference.MeanLoss(c.Loss, false, xd, c.Batch, c.Timesteps, yd, refStates);
        ModelTestData.AssertClose([Loss()], [grads.LossSum / grads.LossRows], ForwardRelative, ForwardFloor, $"{name}: mean loss");

        double largest = 0;
        foreach (var w in model.Network.Weights)
        {
            var fd = GradientCheckTests.FiniteDifferences(reference.Weights[w.Name], Loss);
            var analytic = grads.GradientSum.AsSpan(w.Offset, w.Length).ToArray().Select(g => g / grads.LossRows).ToArray();
            largest = Math.Max(largest, fd.Max(Math.Abs));
            ModelTestData.AssertClose(fd, analytic, GradientRelative, GradientFloor, $"{name} ({math}): d loss / d {w.Name}");
        }
        for (int k = 0; k < states.Count; k++)
        {
            var fd = GradientCheckTests.FiniteDifferences(refStates[k]!, Loss);
            var analytic = grads.InitialStateGradients[k].Data.Select(g => g / grads.LossRows).ToArray();
            largest = Math.Max(largest, fd.Max(Math.Abs));
            ModelTestData.AssertClose(fd, analytic, GradientRelative, GradientFloor, $"{name} ({math}): d loss / d initial state {k}");
        }
        output.WriteLine($"{name} ({math}): largest |gradient| {largest:E2}");
        Assert.True(largest > 0.02, $"{name}: gradients are all tiny ({largest:E2}); the case checks nothing");
    }

    [Theory]
    [InlineData(LayerKinds.SimpleRnn)]
    [InlineData(LayerKinds.Lstm)]
    [InlineData(LayerKinds.Gru)]
    public void A_row_masked_throughout_keeps_its_initial_state_outputs_zeros_and_adds_no_loss(string kind)
    {
        var layers = new LayerSpec[] { Mask, new() { Kind = kind, Units = 3, ReturnSequences = true }, Dense(2) };
        var model = Sequential.FromSpec(new ModelSpec { InputFeatures = 2, Layers = layers }, new ManagedKernels(), 5);
        var random = new Random(5);
        var states = ModelTestData.RandomStates(model, random, 2);
        var keep = new[] { new[] { true, true, false }, new[] { false, false, false } };
        var x = PaddedInput(random, keep, 2);
        var prediction = model.Predict(x, states);
        // Row 1: the states pass through; every output step is Dense(0) = its bias (zeros here).
        for (int k = 0; k < states.Count; k++)
            Assert.Equal(states[k].Data.AsSpan(3, 3).ToArray(), prediction.FinalStates[k].Data.AsSpan(3, 3).ToArray());
        Assert.All(prediction.Output.Data.AsSpan(6, 6).ToArray(), v => Assert.Equal(0f, v));
        // Row 0's trailing masked step repeats its last output.
        Assert.Equal(prediction.Output.Data.AsSpan(2, 2).ToArray(), prediction.Output.Data.AsSpan(4, 2).ToArray());

        // Targets at masked steps do not matter; the mean is over the 2 unmasked steps.
        model.Compile("mse", new Sgd());
        var y = ModelTestData.Uniform(random, -1, 1, 2, 3, 2);
        var first = model.ComputeGradients(x, y, states);
        var changed = y.Clone();
        for (int i = 4; i < 12; i++) changed.Data[i] += 5f;
        var second = model.ComputeGradients(x, changed, states);
        Assert.Equal(2.0 / 3, first.LossRows, 12);
        Assert.Equal(first.LossSum, second.LossSum);
        Assert.Equal(first.GradientSum, second.GradientSum);
        Assert.All(first.InitialStateGradients, g => Assert.All(g.Data.AsSpan(3, 3).ToArray(), v => Assert.Equal(0f, v)));
    }

    [Theory]
    [InlineData(LayerKinds.SimpleRnn, MathKind.Mkl)]
    [InlineData(LayerKinds.Lstm, MathKind.Mkl)]
    [InlineData(LayerKinds.Gru, MathKind.Mkl)]
    [InlineData(LayerKinds.Gru, MathKind.Managed)]
    public void A_padded_row_gives_what_its_unpadded_sequence_gives(string kind, MathKind math)
    {
        // Keras's promise for post-padding: the final state and last output are those of the row's own length.
        var layers = new LayerSpec[] { Mask, new() { Kind = kind, Units = 4 }, Dense(1) };
        var spec = new ModelSpec { InputFeatures = 3, Layers = layers };
        var model = Sequential.FromSpec(spec, Kernels(math), 9);
        var random = new Random(9);
        ModelTestData.RandomizeWeights(model, random);
        var keep = new[] { Enumerable.Range(0, 8).Select(t => t < 3).ToArray(), Enumerable.Range(0, 8).Select(t => t < 8).ToArray() };
        var x = PaddedInput(random, keep, 3);
        var padded = model.Predict(x);
        var alone = model.Predict(ModelTestData.TimeSlice(Rows.Slice(x, 0, 1), 0, 3));
        ModelTestData.AssertClose(alone.Output.Doubles(), padded.Output.Data.AsSpan(0, 1).ToArray().Doubles(), 1e-6, 1e-3, "last output");
        for (int k = 0; k < alone.FinalStates.Count; k++)
            ModelTestData.AssertClose(alone.FinalStates[k].Doubles(), padded.FinalStates[k].Data.AsSpan(0, 4).ToArray().Doubles(), 1e-6, 1e-3, $"final state {k}");
    }

    [Theory]
    [InlineData(Padding.Trailing)]
    [InlineData(Padding.Leading)]
    [InlineData(Padding.Holes)]
    public void The_two_thread_row_split_gives_the_one_thread_results(Padding padding)
    {
        // Batch 20: the split cuts rows at 10, so masked blocks fall on both sides of it and across it.
        var spec = new ModelSpec { InputFeatures = 2, Layers = [Mask, Lstm(4, seq: true), Gru(3, seq: true, back: true), Dense(2)] };
        var random = new Random(44);
        var keep = Keep(padding, 20, 6, random);
        var x = PaddedInput(random, keep, 2);
        var y = ModelTestData.Uniform(random, -1, 1, 20, 6, 2);
        BatchGradients Run(int threads)
        {
            var model = Sequential.FromSpec(spec, new ManagedKernels(threads), 44);
            ModelTestData.RandomizeWeights(model, new Random(45));
            model.Compile("mse", new Sgd());
            return model.ComputeGradients(x, y, ModelTestData.RandomStates(model, new Random(46), 20));
        }
        long before = TimeLoopThreads.SplitPasses;
        var one = Run(1);
        var two = Run(2);
        Assert.True(TimeLoopThreads.SplitPasses > before, "the two-thread run did not split");
        Assert.Equal(one.LossRows, two.LossRows);
        ModelTestData.AssertClose([one.LossSum], [two.LossSum], 1e-6, 1e-3, "loss");
        ModelTestData.AssertClose(one.GradientSum.Doubles(), two.GradientSum.Doubles(), 1e-5, 1e-2, "gradients");
        for (int k = 0; k < one.FinalStates.Length; k++)
        {
            Assert.Equal(one.FinalStates[k].Data, two.FinalStates[k].Data);
            ModelTestData.AssertClose(one.InitialStateGradients[k].Doubles(), two.InitialStateGradients[k].Doubles(), 1e-5, 1e-2, $"state grad {k}");
        }
    }

    [Fact]
    public void Unmasked_input_through_a_masking_layer_gives_the_bits_of_the_model_without_it()
    {
        var plain = new ModelSpec { InputFeatures = 3, Layers = [Lstm(4, seq: true), Gru(3), Dense(2)] };
        var masked = plain with { Layers = [Mask, .. plain.Layers] };
        var a = Sequential.FromSpec(plain, new MklKernels(), 3);
        var b = Sequential.FromSpec(masked, new MklKernels(), 3);
        // Same weights under the masked model's names (layer{i+1}).
        b.SetParameters(a.Parameters);
        var random = new Random(3);
        var x = ModelTestData.Uniform(random, -1, 1, 6, 5, 3);
        var y = ModelTestData.Uniform(random, -1, 1, 6, 2);
        a.Compile("mse", new Adam(new OptimizerSpec()));
        b.Compile("mse", new Adam(new OptimizerSpec()));
        for (int i = 0; i < 3; i++) Assert.Equal(a.TrainOnBatch(x, y), b.TrainOnBatch(x, y));
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
    }

    [Fact]
    public void Stateful_carry_is_the_last_unmasked_state()
    {
        var layers = new LayerSpec[] { Mask, Lstm(3) with { Stateful = true }, Dense(1) };
        var spec = new ModelSpec { InputFeatures = 2, Layers = layers };
        var model = Sequential.FromSpec(spec, new ManagedKernels(), 4);
        var random = new Random(4);
        ModelTestData.RandomizeWeights(model, random);
        var keep1 = new[] { new[] { true, true, false, false }, new[] { false, true, true, true } };
        var keep2 = new[] { new[] { false, true, true, false }, new[] { true, true, true, true } };
        var x1 = PaddedInput(random, keep1, 2);
        var x2 = PaddedInput(random, keep2, 2);
        var first = model.Predict(x1);
        var second = model.Predict(x2);

        var reference = ReferenceModel.Of(model);
        var r1 = reference.Forward(x1.Doubles(), 2, 4);
        var r2 = reference.Forward(x2.Doubles(), 2, 4, [.. r1.FinalStates]);
        for (int k = 0; k < 2; k++)
        {
            ModelTestData.AssertClose(r1.FinalStates[k], first.FinalStates[k].Doubles(), 1e-5, 0.1, $"batch 1 state {k}");
            ModelTestData.AssertClose(r2.FinalStates[k], second.FinalStates[k].Doubles(), 1e-5, 0.1, $"batch 2 state {k}");
        }
        ModelTestData.AssertClose(r2.Output, second.Output.Doubles(), 1e-5, 0.1, "batch 2 prediction");
    }

    [Fact]
    public void Masking_is_the_first_layer_only_and_takes_no_units()
    {
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 2, Layers = [Lstm(2), Mask, Dense(1)] }.Validate());
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 2, Layers = [Mask with { Units = 3 }, Lstm(2)] }.Validate());
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 2, Layers = [Mask] }.Validate());
        Assert.Throws<ModelException>(() => new ModelSpec { InputFeatures = 2, Layers = [Lstm(2) with { MaskValue = 1 }, Dense(1)] }.Validate());
        var spec = ModelSpec.FromJson("""{"input_features": 2, "layers": [{"kind": "masking", "mask_value": -1}, {"kind": "gru", "units": 2}, {"kind": "dense", "units": 1}]}""");
        Assert.Equal(-1f, spec.Layers[0].MaskValue);
        Assert.Equal(spec.ToJson(), ModelSpec.FromJson(spec.ToJson()).ToJson());
        Assert.Equal(["layer1.kernel", "layer1.recurrent_kernel", "layer1.bias", "dense.kernel", "dense.bias"],
            new Network(spec, new ManagedKernels()).Weights.Select(w => w.Name));
    }
}
