using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>
/// The Keras-like surface: model JSON, weights files, SetWeights checks, seeds, Keras's
/// initializers, Fit/Evaluate/validation split, and MKL against managed math.
/// </summary>
public sealed class ModelApiTests
{
    private static readonly IMathKernels Mkl = new MklKernels();

    private static LayerSpec L(string kind, int units, string? act = null, bool seq = false, bool back = false, bool stateful = false, string? name = null) =>
        new() { Kind = kind, Units = units, Activation = act, ReturnSequences = seq, GoBackwards = back, Stateful = stateful, Name = name };

    private static ModelSpec MixedSpec() => new()
    {
        InputFeatures = 3,
        Layers =
        [
            L(LayerKinds.SimpleRnn, 4, "relu", seq: true, back: true, stateful: true),
            L(LayerKinds.Lstm, 5, seq: true, stateful: true),
            L(LayerKinds.Gru, 3, back: true, stateful: true, name: "encoder"),
            L(LayerKinds.Dense, 6, "tanh"),
            L(LayerKinds.Dense, 2, "softmax"),
        ],
    };

    // ---- model JSON ----

    [Fact]
    public void Spec_json_round_trip_keeps_every_field()
    {
        var spec = MixedSpec();
        string json = spec.ToJson();
        var back = ModelSpec.FromJson(json);
        Assert.Equal(spec.InputFeatures, back.InputFeatures);
        Assert.Equal(spec.Layers, back.Layers); // LayerSpec is a record: field-by-field equality
        Assert.Equal(json, back.ToJson());
        foreach (var key in new[] { "\"input_features\": 3", "\"return_sequences\": true", "\"go_backwards\": true", "\"stateful\": true", "\"activation\": \"softmax\"", "\"kind\": \"simple_rnn\"", "\"name\": \"encoder\"" })
            Assert.Contains(key, json);

        // A model built from the JSON has the same weight names and shapes.
        var a = Sequential.FromSpec(spec, Mkl, 1);
        var b = Sequential.FromSpec(back, Mkl, 1);
        Assert.Equal(a.Network.Weights.Select(w => (w.Name, string.Join(",", w.Shape))), b.Network.Weights.Select(w => (w.Name, string.Join(",", w.Shape))));
        Assert.Contains(a.Network.Weights, w => w.Name == "encoder.bias");
    }

    [Fact]
    public void Spec_json_from_hand_written_text_uses_keras_defaults()
    {
        var spec = ModelSpec.FromJson("""{"input_features": 2, "layers": [{"kind": "lstm", "units": 3}, {"kind": "dense", "units": 1}]}""");
        Assert.False(spec.Layers[0].ReturnSequences);
        Assert.False(spec.Layers[0].GoBackwards);
        Assert.False(spec.Layers[0].Stateful);
        var model = Sequential.FromSpec(spec, Mkl);
        Assert.Equal(["layer0.kernel", "layer0.recurrent_kernel", "layer0.bias", "dense.kernel", "dense.bias"], model.Network.Weights.Select(w => w.Name));
    }

    public static IEnumerable<object[]> BadSpecs() =>
    [
        ["{\"input_features\": 2, \"layers\": [", "invalid model JSON"],
        ["not json at all", "invalid model JSON"],
        ["null", "empty model JSON"],
        ["{\"layers\": [{\"kind\": \"lstm\", \"units\": 3}]}", "input_features"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"conv1d\", \"units\": 3}]}", "unknown kind 'conv1d'"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"lstm\", \"units\": 0}]}", "units must be at least 1, got 0"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"gru\", \"units\": -3}]}", "units must be at least 1, got -3"],
        ["{\"input_features\": 0, \"layers\": [{\"kind\": \"gru\", \"units\": 3}]}", "input_features must be at least 1"],
        ["{\"input_features\": 2, \"layers\": []}", "no layers"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"lstm\", \"units\": 3}, {\"kind\": \"gru\", \"units\": 2}]}", "return_sequences"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"lstm\", \"units\": 3}, {\"kind\": \"dense\", \"units\": 2}, {\"kind\": \"simple_rnn\", \"units\": 2}]}", "needs a sequence input"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"lstm\", \"units\": 3, \"activation\": \"relu\"}]}", "activation 'relu' is not supported"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"dense\", \"units\": 3, \"activation\": \"swish\"}]}", "unknown activation 'swish'"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"dense\", \"units\": 3, \"return_sequences\": true}]}", "recurrent layers only"],
        ["{\"input_features\": 2, \"layers\": [{\"kind\": \"gru\", \"units\": 3, \"name\": \"x\", \"return_sequences\": true}, {\"kind\": \"dense\", \"units\": 1, \"name\": \"x\"}]}", "named 'x'"],
    ];

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Bad_spec_json_is_refused_with_a_clear_message(string json, string expected)
    {
        var e = Assert.Throws<ModelException>(() => ModelSpec.FromJson(json, "job.json"));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("{\"input_features\": 2, \"layers\": null}")]
    [InlineData("{\"input_features\": 2, \"layers\": [null]}")]
    public void Spec_json_with_null_layers_is_refused_with_a_model_exception(string json)
    {
        // JSON null where the model needs a list of layers (or a layer) is malformed model JSON.
        var e = Record.Exception(() => ModelSpec.FromJson(json, "job.json"));
        Assert.NotNull(e);
        Assert.IsType<ModelException>(e);
    }

    [Fact]
    public void A_recurrent_layer_after_a_non_sequence_layer_is_refused_when_building_from_code()
    {
        var model = new Sequential(Mkl, new Lstm(3), new Gru(2), new Dense(1));
        var e = Assert.Throws<ModelException>(() => model.Build(2));
        Assert.Contains("layer 1 (gru)", e.Message);
        Assert.Contains("return_sequences", e.Message);
    }

    [Fact]
    public void Unknown_loss_is_refused()
    {
        var e = Assert.Throws<ModelException>(() => Losses.Parse("hinge"));
        Assert.Contains("hinge", e.Message);
    }

    // ---- weights ----

    private static Sequential RandomModel(int seed)
    {
        var model = Sequential.FromSpec(MixedSpec(), Mkl, seed);
        ModelTestData.RandomizeWeights(model, new Random(seed));
        return model;
    }

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"rnncluster-{Guid.NewGuid():N}.npz");

    [Fact]
    public void Weights_npz_round_trip_and_saves_are_byte_identical()
    {
        var model = RandomModel(3);
        var other = RandomModel(4);
        string a = TempFile(), b = TempFile();
        try
        {
            model.Save(a);
            WeightsFile.Save(b, model.GetWeights());
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            model.Save(b); // overwriting gives the same bytes again
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));

            var loaded = WeightsFile.Load(a);
            Assert.Equal(model.GetWeights().Select(w => w.Key), loaded.Select(w => w.Key));
            Assert.NotEqual(model.Parameters.ToArray(), other.Parameters.ToArray());
            other.LoadInto(a);
            foreach (var ((name, expected), (otherName, actual)) in model.GetWeights().Zip(other.GetWeights()))
            {
                Assert.Equal(name, otherName);
                Assert.Equal(expected.Shape, actual.Shape);
                Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
            }
            var x = ModelTestData.Uniform(new Random(5), -1, 1, 2, 4, 3);
            Assert.Equal(model.Predict(x).Output.Data, other.Predict(x).Output.Data);
        }
        finally
        {
            File.Delete(a);
            File.Delete(b);
        }
    }

    [Fact]
    public void Set_weights_refuses_a_missing_name_or_a_wrong_shape_and_changes_nothing()
    {
        var model = RandomModel(6);
        var before = model.Parameters.ToArray();
        var weights = model.GetWeights().ToList();

        var missing = Assert.Throws<ModelException>(() => model.SetWeights(weights.Where(w => w.Key != "layer1.recurrent_kernel")));
        Assert.Contains("layer1.recurrent_kernel", missing.Message);

        var wrong = weights.Select(w => w.Key == "encoder.bias" ? new KeyValuePair<string, Tensor>(w.Key, Tensor.Zeros(3, 9)) : w).ToList();
        var shape = Assert.Throws<ModelException>(() => model.SetWeights(wrong));
        Assert.Contains("encoder.bias", shape.Message);
        Assert.Contains("(3, 9)", shape.Message);
        Assert.Contains("(2, 9)", shape.Message);

        var flat = weights.Select(w => w.Key == "layer0.bias" ? new KeyValuePair<string, Tensor>(w.Key, Tensor.Zeros(1, 4)) : w).ToList();
        var flatShape = Assert.Throws<ModelException>(() => model.SetWeights(flat));
        Assert.Contains("(1, 4)", flatShape.Message);
        Assert.Contains("(4,)", flatShape.Message);

        var extra = weights.Append(new KeyValuePair<string, Tensor>("layer9.kernel", Tensor.Zeros(1))).ToList();
        Assert.Contains("layer9.kernel", Assert.Throws<ModelException>(() => model.SetWeights(extra)).Message);

        Assert.Equal(before, model.Parameters.ToArray());
    }

    // ---- seeds and initializers ----

    private static (Tensor X, Tensor Y) SumTask(int rows, int seed, int timesteps = 6)
    {
        var random = new Random(seed);
        var x = ModelTestData.Uniform(random, -1, 1, rows, timesteps, 1);
        var y = Tensor.Zeros(rows, 1);
        for (int r = 0; r < rows; r++)
        {
            float sum = 0;
            for (int t = 0; t < timesteps; t++) sum += x.Data[r * timesteps + t];
            y.Data[r] = sum / 2;
        }
        return (x, y);
    }

    private static Sequential SumModel(IMathKernels kernels, int seed, string kind = LayerKinds.Gru)
    {
        var spec = new ModelSpec { InputFeatures = 1, Layers = [L(kind, 8), L(LayerKinds.Dense, 1)] };
        var model = Sequential.FromSpec(spec, kernels, seed);
        model.Compile("mse", new Adam(0.01f));
        return model;
    }

    private static int[] Bits(ReadOnlySpan<float> values) => [.. values.ToArray().Select(BitConverter.SingleToInt32Bits)];

    [Fact]
    public void A_seed_makes_fit_reproducible_bit_for_bit_and_different_seeds_differ()
    {
        var (x, y) = SumTask(40, 1);
        var a = SumModel(Mkl, 42);
        var b = SumModel(Mkl, 42);
        var c = SumModel(Mkl, 43);
        Assert.Equal(Bits(a.Parameters), Bits(b.Parameters));
        Assert.NotEqual(Bits(a.Parameters), Bits(c.Parameters));

        var ha = a.Fit(x, y, batchSize: 8, epochs: 3, shuffle: true);
        var hb = b.Fit(x, y, batchSize: 8, epochs: 3, shuffle: true);
        c.Fit(x, y, batchSize: 8, epochs: 3, shuffle: true);
        Assert.Equal(ha.Loss, hb.Loss);
        Assert.Equal(Bits(a.Parameters), Bits(b.Parameters));
        Assert.NotEqual(Bits(a.Parameters), Bits(c.Parameters));

        // The seed also drives the shuffle: same initial weights, another seed's batch order.
        var d = Sequential.FromSpec(a.Spec, Mkl, 44);
        d.SetWeights(SumModel(Mkl, 42).GetWeights());
        d.Compile("mse", new Adam(0.01f));
        var e = SumModel(Mkl, 42);
        d.Fit(x, y, batchSize: 8, epochs: 1, shuffle: true);
        e.Fit(x, y, batchSize: 8, epochs: 1, shuffle: true);
        Assert.NotEqual(Bits(d.Parameters), Bits(e.Parameters));
    }

    [Fact]
    public void Keras_initializers_glorot_kernels_orthogonal_recurrent_kernels_and_biases()
    {
        var spec = new ModelSpec
        {
            InputFeatures = 3,
            Layers = [L(LayerKinds.SimpleRnn, 6, seq: true), L(LayerKinds.Lstm, 4, seq: true), L(LayerKinds.Gru, 5), L(LayerKinds.Dense, 3)],
        };
        var model = Sequential.FromSpec(spec, Mkl, 7);
        var w = model.GetWeights().ToDictionary(p => p.Key, p => p.Value);

        foreach (var name in new[] { "layer0.kernel", "layer1.kernel", "layer2.kernel", "dense.kernel" })
        {
            var k = w[name];
            double limit = Math.Sqrt(6.0 / (k.Shape[0] + k.Shape[1]));
            Assert.All(k.Data, v => Assert.InRange(v, -limit, limit));
            // Uniform over the whole range, not a narrow one (the largest of >= 15 draws is near the limit).
            Assert.True(k.Data.Max(MathF.Abs) > 0.6 * limit, $"{name}: values do not span +-{limit}");
        }

        foreach (var (name, units, gates) in new[] { ("layer0", 6, 1), ("layer1", 4, 4), ("layer2", 5, 3) })
        {
            var r = w[name + ".recurrent_kernel"];
            Assert.Equal([units, gates * units], r.Shape);
            int cols = gates * units;
            // Rows orthonormal: R R^T = I (H x H).
            for (int i = 0; i < units; i++)
                for (int j = 0; j < units; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < cols; c++) dot += (double)r.Data[i * cols + c] * r.Data[j * cols + c];
                    Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) < 1e-5, $"{name}.recurrent_kernel: (R R^T)[{i},{j}] = {dot}");
                }
        }

        Assert.All(w["layer0.bias"].Data, v => Assert.Equal(0f, v));
        var lstmBias = w["layer1.bias"].Data;
        Assert.Equal(16, lstmBias.Length);
        for (int i = 0; i < 16; i++) Assert.Equal(i is >= 4 and < 8 ? 1f : 0f, lstmBias[i]); // gates i, f, c, o: unit forget bias
        Assert.Equal([2, 15], w["layer2.bias"].Shape);
        Assert.All(w["layer2.bias"].Data, v => Assert.Equal(0f, v));
        Assert.All(w["dense.bias"].Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Glorot_uniform_has_the_uniform_variance()
    {
        var model = Sequential.FromSpec(new ModelSpec { InputFeatures = 40, Layers = [L(LayerKinds.SimpleRnn, 60)] }, Mkl, 8);
        var k = model.GetWeights().First(p => p.Key == "layer0.kernel").Value.Data;
        double limit = Math.Sqrt(6.0 / 100), mean = k.Average(v => (double)v), variance = k.Average(v => (double)v * v);
        // 2400 draws: the mean's standard deviation is 0.012 limit, the variance's 1.8 % (4 sigma bounds).
        Assert.InRange(mean, -0.05 * limit, 0.05 * limit);
        Assert.InRange(variance, 0.93 * limit * limit / 3, 1.07 * limit * limit / 3);
    }

    // ---- training ----

    [Theory]
    [InlineData(LayerKinds.SimpleRnn)]
    [InlineData(LayerKinds.Lstm)]
    [InlineData(LayerKinds.Gru)]
    public void Fit_learns_the_sum_of_a_sequence(string kind)
    {
        var (x, y) = SumTask(128, 10);
        var model = SumModel(Mkl, 11, kind);
        var history = model.Fit(x, y, batchSize: 16, epochs: 25);
        Assert.Equal(25, history.Loss.Count);
        Assert.Empty(history.ValidationLoss);
        Assert.True(history.Loss[^1] < 0.3 * history.Loss[0], $"{kind}: loss went from {history.Loss[0]} to {history.Loss[^1]}");
        // It generalises: fresh data from the same task.
        var (xt, yt) = SumTask(64, 12);
        Assert.True(model.Evaluate(xt, yt) < 0.3 * history.Loss[0]);
    }

    [Fact]
    public void Mkl_and_managed_math_train_to_the_same_weights()
    {
        var (x, y) = SumTask(48, 20);
        var mkl = SumModel(Mkl, 21, LayerKinds.Lstm);
        var managed = SumModel(new ManagedKernels(), 21, LayerKinds.Lstm);
        Assert.Equal(Bits(mkl.Parameters), Bits(managed.Parameters));
        var hm = mkl.Fit(x, y, batchSize: 8, epochs: 3);
        var hn = managed.Fit(x, y, batchSize: 8, epochs: 3);
        ModelTestData.AssertClose(hm.Loss.ToArray(), hn.Loss.ToArray(), 1e-4, 1e-2, "loss history");
        // Float roundings differ (blocked GEMM and vectorised tanh against plain loops); Adam turns
        // them into weight differences far below 1e-3 relative in 18 steps.
        ModelTestData.AssertClose(mkl.Parameters.ToArray().Doubles(), managed.Parameters.ToArray().Doubles(), 1e-3, 0.1, "weights");
    }

    [Fact]
    public void Evaluate_is_the_mean_loss_over_all_rows_in_any_batching()
    {
        var spec = new ModelSpec { InputFeatures = 2, Layers = [L(LayerKinds.Lstm, 3, seq: true), L(LayerKinds.Dense, 2, "sigmoid")] };
        var model = Sequential.FromSpec(spec, Mkl, 30);
        var random = new Random(31);
        ModelTestData.RandomizeWeights(model, random);
        var x = ModelTestData.Uniform(random, -1, 1, 10, 4, 2);
        var y = ModelTestData.Uniform(random, 0, 1, 10, 4, 2);
        model.Compile("binary_crossentropy", new Sgd());

        var reference = ReferenceModel.Of(model);
        var output = reference.Forward(x.Doubles(), 10, 4);
        double expected = ReferenceModel.LossSum("binary_crossentropy", false, output.Output, output.Shape, y.Doubles()) / 10;
        foreach (int batchSize in new[] { 1, 3, 4, 10, 32 })
            ModelTestData.AssertClose([expected], [model.Evaluate(x, y, batchSize)], 1e-5, 1e-2, $"evaluate, batch size {batchSize}");
        ModelTestData.AssertClose([expected], [model.ComputeGradients(x, y).LossSum / 10], 1e-5, 1e-2, "compute gradients");

        // Per-row initial states travel with their rows through the batching.
        var states = ModelTestData.RandomStates(model, random, 10);
        var withStates = reference.Forward(x.Doubles(), 10, 4, [.. states.Select(s => s.Doubles())]);
        double expectedWithStates = ReferenceModel.LossSum("binary_crossentropy", false, withStates.Output, withStates.Shape, y.Doubles()) / 10;
        Assert.True(Math.Abs(expectedWithStates - expected) > 1e-4);
        foreach (int batchSize in new[] { 3, 10 })
            ModelTestData.AssertClose([expectedWithStates], [model.Evaluate(x, y, batchSize, states)], 1e-5, 1e-2, $"evaluate with states, batch size {batchSize}");
    }

    [Fact]
    public void Fit_with_per_row_initial_states_gathers_them_with_each_batch()
    {
        var (x, y) = SumTask(20, 60);
        var fitted = SumModel(Mkl, 61, LayerKinds.Lstm);
        var manual = SumModel(Mkl, 61, LayerKinds.Lstm);
        var states = ModelTestData.RandomStates(fitted, new Random(62), 20);
        var history = fitted.Fit(x, y, batchSize: 8, epochs: 2, shuffle: true, initialStates: states);

        var plan = new BatchPlan(20, 8, shuffle: true, stateful: false, seed: 61);
        var losses = new List<double>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var order = plan.Order(epoch);
            double sum = 0;
            for (int i = 0; i < plan.BatchesPerEpoch; i++)
            {
                var rows = plan.Batch(order, i).ToArray();
                Tensor Gather(Tensor t)
                {
                    var result = Rows.Empty(t, rows.Length);
                    Rows.Gather(t, rows, result);
                    return result;
                }
                sum += manual.TrainOnBatch(Gather(x), Gather(y), [.. states.Select(Gather)]) * rows.Length;
            }
            losses.Add(sum / 20);
        }
        Assert.Equal(losses, history.Loss);
        Assert.Equal(Bits(manual.Parameters), Bits(fitted.Parameters));
    }

    [Fact]
    public void Fit_refuses_per_row_initial_states_with_the_wrong_number_of_rows()
    {
        var (x, y) = SumTask(20, 63);
        var model = SumModel(Mkl, 64, LayerKinds.Gru);
        var states = ModelTestData.RandomStates(model, new Random(65), 19);
        var e = Record.Exception(() => model.Fit(x, y, batchSize: 8, shuffle: true, initialStates: states));
        Assert.IsType<ModelException>(e);
        Assert.Contains("(19, 8)", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Evaluate_refuses_a_batch_size_below_one(int batchSize)
    {
        var model = SumModel(Mkl, 34);
        var (x, y) = SumTask(6, 35);
        var e = Record.Exception(() => model.Evaluate(x, y, batchSize));
        Assert.IsType<ModelException>(e);
    }

    [Fact]
    public void Evaluate_on_a_stateful_model_starts_from_zeros_and_changes_no_state()
    {
        var spec = new ModelSpec { InputFeatures = 2, Layers = [L(LayerKinds.Gru, 3, stateful: true), L(LayerKinds.Dense, 1)] };
        var model = Sequential.FromSpec(spec, Mkl, 32);
        model.Compile("mse", new Sgd());
        var random = new Random(33);
        var x = ModelTestData.Uniform(random, -1, 1, 4, 5, 2);
        var y = ModelTestData.Uniform(random, -1, 1, 4, 1);
        model.Predict(x);
        var carried = model.Layers[0].States[0]!.Clone();
        var stateless = Sequential.FromSpec(spec with { Layers = [L(LayerKinds.Gru, 3), L(LayerKinds.Dense, 1)] }, Mkl, 32);
        stateless.Compile("mse", new Sgd());
        Assert.Equal(stateless.Evaluate(x, y, 2), model.Evaluate(x, y, 2), 12);
        Assert.Equal(carried.Data, model.Layers[0].States[0]!.Data);
    }

    [Fact]
    public void Validation_split_holds_out_the_last_rows_and_reports_their_loss()
    {
        var (x, y) = SumTask(40, 40);
        var split = SumModel(Mkl, 41);
        var trainOnly = SumModel(Mkl, 41);
        var history = split.Fit(x, y, batchSize: 8, epochs: 3, shuffle: true, validationSplit: 0.25);
        var (trainX, trainY) = (Rows.Slice(x, 0, 30), Rows.Slice(y, 0, 30));
        var (valX, valY) = (Rows.Slice(x, 30, 10), Rows.Slice(y, 30, 10));
        var plain = trainOnly.Fit(trainX, trainY, batchSize: 8, epochs: 3, shuffle: true);

        // Training saw exactly the first 75 % of the rows.
        Assert.Equal(plain.Loss, history.Loss);
        Assert.Equal(Bits(trainOnly.Parameters), Bits(split.Parameters));
        // One validation loss per epoch; the last is the held-out rows' loss after training.
        Assert.Equal(3, history.ValidationLoss.Count);
        Assert.All(history.ValidationLoss, v => Assert.True(double.IsFinite(v) && v > 0));
        Assert.Equal(split.Evaluate(valX, valY, 8), history.ValidationLoss[^1], 12);

        Assert.Throws<ModelException>(() => split.Fit(x, y, validationSplit: 1.0));
        Assert.Throws<ModelException>(() => split.Fit(x, y, validationSplit: -0.1));
    }

    [Fact]
    public void Targets_of_the_wrong_shape_are_refused_and_class_indices_may_drop_the_last_axis()
    {
        var spec = new ModelSpec { InputFeatures = 2, Layers = [L(LayerKinds.SimpleRnn, 3), L(LayerKinds.Dense, 4, "softmax")] };
        var model = Sequential.FromSpec(spec, Mkl, 50);
        model.Compile("mse", new Sgd());
        var x = ModelTestData.Uniform(new Random(51), -1, 1, 5, 3, 2);
        var e = Assert.Throws<ModelException>(() => model.TrainOnBatch(x, Tensor.Zeros(5, 3)));
        Assert.Contains("(5, 3)", e.Message);
        Assert.Contains("(5, 4)", e.Message);

        model.Compile("sparse_categorical_crossentropy", new Sgd());
        var labels = new Tensor([0f, 3f, 1f, 2f, 0f], 5);
        var withAxis = new Tensor([0f, 3f, 1f, 2f, 0f], 5, 1);
        Assert.Equal(model.ComputeGradients(x, withAxis).LossSum, model.ComputeGradients(x, labels).LossSum);
        var bad = Assert.Throws<ModelException>(() => model.ComputeGradients(x, new Tensor([0f, 4f, 1f, 2f, 0f], 5, 1)));
        Assert.Contains("not a class index", bad.Message);
    }
}
