using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>
/// Keras stateful semantics: row i of a batch continues as row i of the next, reset means zeros
/// (or the given values), an explicit initial state wins over the carried one, the batch size is
/// fixed, and no gradient crosses a batch boundary.
/// </summary>
public sealed class StatefulTests
{
    // Same float operations on the same values in both runs, only grouped into different GEMM
    // shapes: differences are a few float roundings at most.
    private const double Relative = 1e-6;
    private const double Floor = 1.0;

    private const int B = 3;
    private const int T = 6;
    private const int D = 3;

    private static readonly IMathKernels Math = new MklKernels();

    private static LayerSpec Recurrent(string kind, int units, bool seq = true, bool stateful = true) =>
        new() { Kind = kind, Units = units, ReturnSequences = seq, Stateful = stateful };

    private static LayerSpec Dense(int units) => new() { Kind = LayerKinds.Dense, Units = units };

    /// <summary>A stateful model with random weights, and a stateless twin with the same weights.</summary>
    private static (Sequential Stateful, Sequential Stateless) Pair(int seed, params LayerSpec[] layers)
    {
        var spec = new ModelSpec { InputFeatures = D, Layers = layers };
        var stateful = Sequential.FromSpec(spec, Math, seed);
        ModelTestData.RandomizeWeights(stateful, new Random(seed));
        var stateless = Sequential.FromSpec(spec with { Layers = [.. layers.Select(l => l with { Stateful = false })] }, Math, seed);
        stateless.SetWeights(stateful.GetWeights());
        return (stateful, stateless);
    }

    private static Tensor X(int seed, int batch = B, int timesteps = T) => ModelTestData.Uniform(new Random(seed), -1, 1, batch, timesteps, D);

    private static void AssertSame(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        ModelTestData.AssertClose(expected.Doubles(), actual.Doubles(), Relative, Floor, what);
    }

    private static void AssertSameStates(IReadOnlyList<Tensor> expected, IReadOnlyList<Tensor?> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            Assert.NotNull(actual[k]);
            AssertSame(expected[k], actual[k]!, $"{what} {k}");
        }
    }

    private static bool Differ(Tensor a, Tensor b) => ModelTestData.WorstRatio(a.Doubles(), b.Doubles(), 1e-3, 1.0) > 1;

    public static IEnumerable<object[]> Stacks() =>
    [
        ["simple_rnn"], ["lstm"], ["gru"], ["gru+lstm"], ["lstm+simple_rnn"],
    ];

    private static LayerSpec[] Stack(string name) => name switch
    {
        "gru+lstm" => [Recurrent(LayerKinds.Gru, 3), Recurrent(LayerKinds.Lstm, 4), Dense(2)],
        "lstm+simple_rnn" => [Recurrent(LayerKinds.Lstm, 4), Recurrent(LayerKinds.SimpleRnn, 3), Dense(2)],
        _ => [Recurrent(name, 4), Dense(2)],
    };

    // (a) ---------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Stacks))]
    public void Two_stateful_halves_equal_one_stateless_pass(string stack)
    {
        var (stateful, stateless) = Pair(5, Stack(stack));
        var x = X(6);
        var full = stateless.Predict(x);
        var first = stateful.Predict(ModelTestData.TimeSlice(x, 0, T / 2));
        var second = stateful.Predict(ModelTestData.TimeSlice(x, T / 2, T / 2));
        AssertSame(ModelTestData.TimeSlice(full.Output, 0, T / 2), first.Output, $"{stack}: first half");
        AssertSame(ModelTestData.TimeSlice(full.Output, T / 2, T / 2), second.Output, $"{stack}: second half");
        AssertSameStates(full.FinalStates, second.FinalStates, $"{stack}: final state");
        // The carried states are visible per layer and equal the final states.
        var carried = stateful.Layers.Where(l => l.Spec.IsRecurrent).SelectMany(l => l.States).ToList();
        AssertSameStates(full.FinalStates, carried, $"{stack}: carried state");
        // And the halves really depend on the carry (the check is not vacuous).
        Assert.True(Differ(stateless.Predict(ModelTestData.TimeSlice(x, T / 2, T / 2)).Output, second.Output));
    }

    [Fact]
    public void Stateful_training_with_fit_keeps_row_order_and_carries_states_like_train_on_batch()
    {
        var layers = new[] { Recurrent(LayerKinds.Lstm, 3, seq: false), Dense(1) };
        var (fitted, _) = Pair(7, layers);
        var manual = Sequential.FromSpec(fitted.Spec, Math, 7);
        manual.SetWeights(fitted.GetWeights());
        var x = X(8, batch: 2 * B, timesteps: 4);
        var y = ModelTestData.Uniform(new Random(9), -1, 1, 2 * B, 1);
        fitted.Compile("mse", new Sgd(0.1f));
        manual.Compile("mse", new Sgd(0.1f));

        var history = fitted.Fit(x, y, batchSize: B, epochs: 2, resetStatesEachEpoch: true);

        var losses = new List<double>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            double sum = 0;
            for (int batch = 0; batch < 2; batch++)
                sum += manual.TrainOnBatch(Rows.Slice(x, batch * B, B), Rows.Slice(y, batch * B, B)) * B;
            losses.Add(sum / (2 * B));
            manual.ResetStates();
        }
        Assert.Equal(losses, history.Loss);
        Assert.Equal(manual.Parameters.ToArray(), fitted.Parameters.ToArray());
        Assert.All(fitted.Layers[0].States, s => Assert.Null(s));
    }

    [Fact]
    public void Stateful_fit_refuses_shuffling_and_partial_batches()
    {
        var (model, _) = Pair(7, Recurrent(LayerKinds.Gru, 2, seq: false), Dense(1));
        model.Compile("mse", new Sgd());
        var x = X(8, batch: 2 * B, timesteps: 4);
        var y = Tensor.Zeros(2 * B, 1);
        var shuffled = Assert.Throws<ModelException>(() => model.Fit(x, y, batchSize: B, shuffle: true));
        Assert.Contains("shuffle", shuffled.Message);
        var partial = Assert.Throws<ModelException>(() => model.Fit(x, y, batchSize: 4));
        Assert.Contains("whole batches", partial.Message);
    }

    // (b) ---------------------------------------------------------------------------------------

    [Fact]
    public void Layer_reset_gives_zeros_and_reset_with_values_equals_explicit_initial_states()
    {
        var (model, reference) = Pair(11, Recurrent(LayerKinds.Lstm, 3), Recurrent(LayerKinds.Gru, 2, seq: false), Dense(2));
        var random = new Random(12);
        var x1 = X(13);
        var x2 = X(14);
        var x3 = X(15);
        var x4 = X(16);
        var x5 = X(17);
        Assert.All(model.Layers.Where(l => l.Spec.IsRecurrent).SelectMany(l => l.States), s => Assert.Null(s));

        var p1 = model.Predict(x1);
        Assert.All(model.Layers[0].States.Concat(model.Layers[1].States), s => Assert.NotNull(s));

        // Layer 0 (LSTM: h and c) back to zeros; layer 1 (GRU) keeps its carried h.
        model.Layers[0].ResetStates();
        Assert.Equal(2, model.Layers[0].States.Count);
        Assert.All(model.Layers[0].States, s => Assert.True(s is null || s.Data.All(v => v == 0f)));
        AssertSame(p1.FinalStates[2], model.Layers[1].States[0]!, "untouched layer");
        var p2 = model.Predict(x2);
        var e2 = reference.Predict(x2, [null, null, p1.FinalStates[2]]);
        AssertSame(e2.Output, p2.Output, "after layer-0 reset");
        AssertSameStates(e2.FinalStates, p2.FinalStates, "after layer-0 reset: final state");

        // Layer 1 to given values; they are copied (later changes to the caller's tensor do not leak in).
        var v = ModelTestData.Uniform(random, -0.5, 0.5, B, 2);
        model.Layers[1].ResetStates(v);
        var given = v.Clone();
        v.Data[0] = 99f;
        AssertSame(given, model.Layers[1].States[0]!, "reset value");
        var p3 = model.Predict(x3);
        var e3 = reference.Predict(x3, [p2.FinalStates[0], p2.FinalStates[1], given]);
        AssertSame(e3.Output, p3.Output, "after layer-1 reset with values");

        // The whole model to given values, then to zeros.
        var all = ModelTestData.RandomStates(model, random, B);
        model.ResetStates(all);
        var p4 = model.Predict(x4);
        AssertSame(reference.Predict(x4, [.. all]).Output, p4.Output, "after model reset with values");
        model.ResetStates();
        Assert.All(model.Network.StateSlots, s => Assert.Null(model.Layers[s.LayerIndex].States[s.StateIndex]));
        var p5 = model.Predict(x5);
        AssertSame(reference.Predict(x5).Output, p5.Output, "after model reset to zeros");
    }

    [Fact]
    public void Lstm_layer_reset_with_values_sets_h_and_c()
    {
        var (model, reference) = Pair(21, Recurrent(LayerKinds.Lstm, 3), Dense(1));
        var random = new Random(22);
        var h = ModelTestData.Uniform(random, -0.5, 0.5, B, 3);
        var c = ModelTestData.Uniform(random, -0.5, 0.5, B, 3);
        model.Layers[0].ResetStates(h, c);
        var x = X(23);
        AssertSame(reference.Predict(x, [h, c]).Output, model.Predict(x).Output, "LSTM reset (h, c)");
    }

    [Fact]
    public void A_non_stateful_layer_of_a_partly_stateful_model_starts_every_batch_from_zeros()
    {
        // Keras: only stateful layers carry state; the others start each batch from zeros. Setting
        // all state slots at once may refuse the non-stateful layer's slot or ignore it, but must
        // not turn it into a constant initial state for every later batch.
        var (model, reference) = Pair(25, Recurrent(LayerKinds.Lstm, 3), Recurrent(LayerKinds.Gru, 2, stateful: false), Dense(2));
        var all = ModelTestData.RandomStates(model, new Random(26), B);
        try
        {
            model.ResetStates(all);
        }
        catch (ModelException)
        {
            model.Layers[0].ResetStates(all[0], all[1]);
        }
        var first = model.Predict(X(27));
        var x2 = X(28);
        var second = model.Predict(x2);
        var expected = reference.Predict(x2, [first.FinalStates[0], first.FinalStates[1], null]);
        AssertSame(expected.Output, second.Output, "second batch: GRU (not stateful) from zeros");
    }

    // (c) ---------------------------------------------------------------------------------------

    [Fact]
    public void A_state_of_the_wrong_shape_is_refused_naming_both_shapes()
    {
        var (model, _) = Pair(31, Recurrent(LayerKinds.Lstm, 3), Dense(2));

        // Before any batch: the batch comes from the value, the units must match.
        var units = Assert.Throws<ModelException>(() => model.Layers[0].ResetStates(Tensor.Zeros(B, 5), Tensor.Zeros(B, 3)));
        Assert.Contains("(3, 5)", units.Message);
        Assert.Contains("(3, 3)", units.Message);

        model.Predict(X(32));
        var carried = model.Layers[0].States.Select(s => s!.Clone()).ToList();

        // The batch size is now fixed at 3: a (4, 3) state is refused.
        var batch = Assert.Throws<ModelException>(() => model.Layers[0].ResetStates(Tensor.Zeros(4, 3), Tensor.Zeros(4, 3)));
        Assert.Contains("(4, 3)", batch.Message);
        Assert.Contains("(3, 3)", batch.Message);
        var whole = Assert.Throws<ModelException>(() => model.ResetStates([Tensor.Zeros(B, 3, 1), Tensor.Zeros(B, 3)]));
        Assert.Contains("(3, 3, 1)", whole.Message);
        Assert.Contains("(3, 3)", whole.Message);

        // Wrong number of tensors.
        Assert.Throws<ModelException>(() => model.Layers[0].ResetStates(Tensor.Zeros(B, 3)));
        Assert.Throws<ModelException>(() => model.ResetStates([Tensor.Zeros(B, 3)]));
        // A Dense layer has no states.
        Assert.Contains("no states", Assert.Throws<ModelException>(() => model.Layers[1].ResetStates()).Message);

        // An explicit initial state of the wrong shape.
        var explicitState = Assert.Throws<ModelException>(() => model.Predict(X(33), [Tensor.Zeros(B, 3), Tensor.Zeros(B, 4)]));
        Assert.Contains("(3, 4)", explicitState.Message);
        Assert.Contains("(3, 3)", explicitState.Message);

        AssertSameStates(carried, model.Layers[0].States, "states after the refusals");
    }

    [Fact]
    public void A_stateful_model_refuses_a_different_batch_size()
    {
        var (model, _) = Pair(41, Recurrent(LayerKinds.Gru, 3), Dense(2));
        model.Compile("mse", new Sgd());
        model.Predict(X(42));
        var carried = model.Layers[0].States[0]!.Clone();

        var predict = Assert.Throws<ModelException>(() => model.Predict(X(43, batch: 2)));
        Assert.Contains("3", predict.Message);
        Assert.Contains("2", predict.Message);
        Assert.Throws<ModelException>(() => model.TrainOnBatch(X(44, batch: 4), Tensor.Zeros(4, T, 2)));
        Assert.Throws<ModelException>(() => model.ComputeGradients(X(44, batch: 4), Tensor.Zeros(4, T, 2)));
        AssertSame(carried, model.Layers[0].States[0]!, "state after the refusals");

        // Still fine with the fixed batch size; a stateless twin takes any batch size.
        model.Predict(X(45));
        var (_, stateless) = Pair(41, Recurrent(LayerKinds.Gru, 3), Dense(2));
        stateless.Predict(X(46));
        stateless.Predict(X(47, batch: 2));
    }

    // (d) ---------------------------------------------------------------------------------------

    [Fact]
    public void An_explicit_initial_state_wins_over_the_carried_one_and_its_final_state_is_carried()
    {
        var (model, reference) = Pair(51, Recurrent(LayerKinds.Lstm, 3), Dense(2));
        var random = new Random(52);
        var carried = model.Predict(X(53)).FinalStates;
        var given = ModelTestData.RandomStates(model, random, B);
        var x2 = X(54);

        var withGiven = model.Predict(x2, [.. given]);
        var expected = reference.Predict(x2, [.. given]);
        AssertSame(expected.Output, withGiven.Output, "explicit state");
        Assert.True(Differ(reference.Predict(x2, [.. carried]).Output, withGiven.Output), "the carried state would give another result");

        // What carries on is the final state of the explicit run.
        AssertSameStates(expected.FinalStates, model.Layers[0].States, "carried after an explicit run");
        var x3 = X(55);
        AssertSame(reference.Predict(x3, [.. expected.FinalStates]).Output, model.Predict(x3).Output, "next batch");
    }

    // (e) ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData(LayerKinds.SimpleRnn)]
    [InlineData(LayerKinds.Lstm)]
    [InlineData(LayerKinds.Gru)]
    public void Train_on_batch_carries_states_and_no_gradient_crosses_the_boundary(string kind)
    {
        const float lr = 0.1f;
        var (model, twin) = Pair(61, Recurrent(kind, 3), Dense(2));
        model.Compile("mse", new Sgd(lr));
        twin.Compile("mse", new Sgd(lr));
        var random = new Random(62);
        var (x1, x2) = (X(63), X(64));
        var (y1, y2) = (ModelTestData.Uniform(random, -1, 1, B, T, 2), ModelTestData.Uniform(random, -1, 1, B, T, 2));

        // Batch 1 from zeros: states carried are the final states under the weights before the update.
        var g1 = twin.ComputeGradients(x1, y1);
        double loss1 = model.TrainOnBatch(x1, y1);
        Assert.Equal(g1.LossSum / B, loss1, 12);
        AssertSameStates(g1.FinalStates, model.Layers[0].States, "carried after batch 1");
        twin.TrainOnBatch(x1, y1);
        Assert.Equal(twin.Parameters.ToArray(), model.Parameters.ToArray());

        // Batch 2: the carried states act as constants, exactly like explicit initial states.
        var g2 = twin.ComputeGradients(x2, y2, [.. g1.FinalStates]);
        var g2Carried = model.ComputeGradients(x2, y2);
        Assert.Equal(g2.GradientSum, g2Carried.GradientSum);
        Assert.Equal(g2.LossSum, g2Carried.LossSum);

        var before = model.Parameters.ToArray();
        double loss2 = model.TrainOnBatch(x2, y2);
        Assert.Equal(g2.LossSum / B, loss2, 12);
        var expected = new double[before.Length];
        for (int i = 0; i < before.Length; i++) expected[i] = before[i] - lr * (g2.GradientSum[i] / B);
        ModelTestData.AssertClose(expected, model.Parameters.ToArray().Doubles(), 1e-6, 1.0, "weights after batch 2");
        AssertSameStates(g2.FinalStates, model.Layers[0].States, "carried after batch 2");

        // The gradient through the previous batch would be different: d loss2 / d (initial state) is not zero.
        Assert.Contains(g2.InitialStateGradients[0].Data, v => MathF.Abs(v) > 1e-4f);
    }
}
