using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Model;

/// <summary>
/// The engine's float32 forward pass and analytic gradients (every weight and every initial
/// state) against the independent double-precision <see cref="ReferenceModel"/>: forward values
/// directly, gradients through central finite differences of the reference loss. Small random
/// models of every cell kind, single and stacked, with and without return_sequences and
/// go_backwards, non-zero initial states, every loss and every Dense activation.
/// </summary>
public sealed class GradientCheckTests(ITestOutputHelper output)
{
    // Forward: the engine computes in float32 (unit roundoff 6e-8); a few dozen roundings along a
    // short sequence leave relative errors around 1e-6, so 1e-5 relative (with a floor of 0.1 for
    // values that pass near zero, i.e. 1e-6 absolute) is tight and still robust.
    internal const double ForwardRelative = 1e-5;
    internal const double ForwardFloor = 0.1;

    // Gradients: central differences of the double reference with step 1e-6 are accurate to about
    // 1e-9 (truncation ~h^2, roundoff ~1e-16 / h), so the whole difference is the engine's float32
    // error. Backpropagation through time accumulates B*T contributions per weight, each carrying
    // ~1e-7..1e-6 relative roundoff, and sums of terms of both signs lose a few more digits where a
    // gradient is nearly zero; the errors observed on these cases (MKL and managed) stay below
    // 2e-6 relative to max(|g|, 1e-2). A wrong gate, sign, transpose, scale or missing term shows
    // up as an O(1e-2..1) relative error. So: |a - b| <= 5e-4 * max(|b|, 1e-2), i.e. 0.05 %
    // relative with a 5e-6 absolute floor for near-zero gradients (float cancellation there is
    // absolute): a ~250x margin over float noise and still ~100x below any real bug.
    internal const double GradientRelative = 5e-4;
    internal const double GradientFloor = 1e-2;
    internal const double Step = 1e-6;

    public sealed record Case(LayerSpec[] Layers, string Loss, bool FromLogits = false, int Batch = 3, int Timesteps = 4, int Features = 3, int Seed = 1);

    internal static LayerSpec Rnn(int units, bool seq = false, bool back = false, string act = "tanh") =>
        new() { Kind = LayerKinds.SimpleRnn, Units = units, Activation = act, ReturnSequences = seq, GoBackwards = back };

    internal static LayerSpec Lstm(int units, bool seq = false, bool back = false) =>
        new() { Kind = LayerKinds.Lstm, Units = units, ReturnSequences = seq, GoBackwards = back };

    internal static LayerSpec Gru(int units, bool seq = false, bool back = false) =>
        new() { Kind = LayerKinds.Gru, Units = units, ReturnSequences = seq, GoBackwards = back };

    internal static LayerSpec Dense(int units, string act = "linear") =>
        new() { Kind = LayerKinds.Dense, Units = units, Activation = act };

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>
    {
        ["simple_rnn_tanh-dense-mse"] = new([Rnn(4), Dense(2)], "mse", Seed: 11),
        ["simple_rnn_relu_backwards-dense_softmax-cce"] = new([Rnn(4, back: true, act: "relu"), Dense(3, "softmax")], "categorical_crossentropy", Seed: 12),
        ["lstm-dense_tanh-mae"] = new([Lstm(3), Dense(2, "tanh")], "mae", Seed: 13),
        ["lstm_sequences-dense_every_step-mse"] = new([Lstm(3, seq: true), Dense(2)], "mse", Seed: 14),
        ["gru-dense_sigmoid-bce"] = new([Gru(4), Dense(3, "sigmoid")], "binary_crossentropy", Seed: 15),
        ["gru_sequences_backwards-dense-bce_logits"] = new([Gru(3, seq: true, back: true), Dense(2)], "binary_crossentropy", FromLogits: true, Seed: 16),
        ["simple_rnn_seq-lstm-dense-cce_logits"] = new([Rnn(3, seq: true), Lstm(4), Dense(3)], "categorical_crossentropy", FromLogits: true, Seed: 17),
        ["gru_seq-simple_rnn_seq_backwards-dense_softmax-scce"] = new([Gru(3, seq: true), Rnn(4, seq: true, back: true), Dense(4, "softmax")], "sparse_categorical_crossentropy", Seed: 18),
        ["lstm_seq_backwards-gru_seq-dense-scce_logits"] = new([Lstm(3, seq: true, back: true), Gru(3, seq: true), Dense(3)], "sparse_categorical_crossentropy", FromLogits: true, Seed: 19),
        ["lstm_seq-dense_relu-dense_sigmoid-cce"] = new([Lstm(4, seq: true), Dense(5, "relu"), Dense(3, "sigmoid")], "categorical_crossentropy", Seed: 20),
        ["gru_alone-mse"] = new([Gru(3)], "mse", Seed: 21),
        ["lstm_sequences_backwards_alone-mae"] = new([Lstm(3, seq: true, back: true)], "mae", Seed: 22),
        ["dense_tanh-lstm-dense_relu-mse"] = new([Dense(4, "tanh"), Lstm(3), Dense(2, "relu")], "mse", Seed: 23),
        ["simple_rnn_backwards-gru_backwards-lstm_seq-dense-mse"] = new([Rnn(3, seq: true, back: true), Gru(3, seq: true, back: true), Lstm(2, seq: true), Dense(2)], "mse", Seed: 24),
        ["gru_backwards-dense_softmax-scce_last"] = new([Gru(3, back: true), Dense(3, "softmax")], "sparse_categorical_crossentropy", Seed: 25),
        ["simple_rnn_relu_seq-dense_sigmoid-bce"] = new([Rnn(4, seq: true, act: "relu"), Dense(2, "sigmoid")], "binary_crossentropy", Seed: 26),
        ["lstm_one_row_one_step"] = new([Lstm(2), Dense(1)], "mse", Batch: 1, Timesteps: 1, Seed: 27),
        ["dense_only_on_sequences"] = new([Dense(4, "tanh"), Dense(2)], "mse", Seed: 29),
        ["gru_long_sequence"] = new([Gru(2, seq: true), Dense(1, "tanh")], "mse", Batch: 2, Timesteps: 12, Features: 2, Seed: 28),
    };

    public static IEnumerable<object[]> All() =>
        Cases.Keys.SelectMany(name => new[] { new object[] { name, MathKind.Mkl }, [name, MathKind.Managed] });

    public static IMathKernels Kernels(MathKind kind) => kind == MathKind.Mkl ? new MklKernels() : new ManagedKernels();

    [Theory]
    [MemberData(nameof(All))]
    public void Engine_matches_reference_forward_and_finite_difference_gradients(string name, MathKind math)
    {
        var c = Cases[name];
        var spec = new ModelSpec { InputFeatures = c.Features, Layers = c.Layers };
        var model = Sequential.FromSpec(spec, Kernels(math), c.Seed);
        var random = new Random(c.Seed);
        ModelTestData.RandomizeWeights(model, random);
        var states = ModelTestData.RandomStates(model, random, c.Batch);
        var x = ModelTestData.Uniform(random, -1, 1, c.Batch, c.Timesteps, c.Features);
        var y = Targets(random, c.Loss, model.Network.PredictionShape(c.Batch, c.Timesteps));
        model.Compile(Losses.Parse(c.Loss, c.FromLogits), new Sgd());

        var reference = ReferenceModel.Of(model);
        var refStates = states.Select(s => (double[]?)s.Doubles()).ToList();
        var xd = x.Doubles();
        var yd = y.Doubles();

        // Forward: prediction, final states, loss.
        var prediction = model.Predict(x, states);
        var expected = reference.Forward(xd, c.Batch, c.Timesteps, refStates);
        Assert.Equal(expected.Shape, prediction.Output.Shape);
        ModelTestData.AssertClose(expected.Output, prediction.Output.Doubles(), ForwardRelative, ForwardFloor, $"{name}: prediction");
        Assert.Equal(reference.StateSlots.Count, prediction.FinalStates.Count);
        for (int k = 0; k < prediction.FinalStates.Count; k++)
            ModelTestData.AssertClose(expected.FinalStates[k], prediction.FinalStates[k].Doubles(), ForwardRelative, ForwardFloor, $"{name}: final state {k}");

        var grads = model.ComputeGradients(x, y, states);
        double refLoss = ReferenceModel.LossSum(c.Loss, c.FromLogits, expected.Output, expected.Shape, yd);
        ModelTestData.AssertClose([refLoss], [grads.LossSum], ForwardRelative, ForwardFloor, $"{name}: loss sum");

        // Gradients: every weight element and every initial-state element.
        double Loss() => reference.Loss(c.Loss, c.FromLogits, xd, c.Batch, c.Timesteps, yd, refStates);
        double largest = 0, worst = 0;
        foreach (var w in model.Network.Weights)
        {
            var fd = FiniteDifferences(reference.Weights[w.Name], Loss);
            var analytic = grads.GradientSum.AsSpan(w.Offset, w.Length).ToArray().Doubles();
            worst = Math.Max(worst, ModelTestData.WorstRatio(fd, analytic, GradientRelative, GradientFloor));
            largest = Math.Max(largest, fd.Max(Math.Abs));
            ModelTestData.AssertClose(fd, analytic, GradientRelative, GradientFloor, $"{name} ({math}): d loss / d {w.Name}");
        }
        for (int k = 0; k < states.Count; k++)
        {
            var fd = FiniteDifferences(refStates[k]!, Loss);
            var analytic = grads.InitialStateGradients[k].Doubles();
            worst = Math.Max(worst, ModelTestData.WorstRatio(fd, analytic, GradientRelative, GradientFloor));
            largest = Math.Max(largest, fd.Max(Math.Abs));
            ModelTestData.AssertClose(fd, analytic, GradientRelative, GradientFloor, $"{name} ({math}): d loss / d initial state {k}");
        }
        output.WriteLine($"{name} ({math}): largest |gradient| {largest:E2}, worst error / tolerance {worst:E2}");
        // The check must not be vacuous: the model's gradients are of a size the tolerance resolves.
        Assert.True(largest > 0.05, $"{name}: gradients are all tiny ({largest:E2}); the case checks nothing");
    }

    /// <summary>Central differences of <paramref name="loss"/> with respect to each element of <paramref name="values"/> (restored afterwards).</summary>
    internal static double[] FiniteDifferences(double[] values, Func<double> loss)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double original = values[i];
            values[i] = original + Step;
            double plus = loss();
            values[i] = original - Step;
            double minus = loss();
            values[i] = original;
            result[i] = (plus - minus) / (2 * Step);
        }
        return result;
    }

    /// <summary>Targets a loss accepts for predictions of <paramref name="predShape"/>.</summary>
    public static Tensor Targets(Random random, string loss, int[] predShape)
    {
        int width = predShape[^1];
        switch (loss)
        {
            case "mse" or "mae":
                return ModelTestData.Uniform(random, -1, 1, predShape);
            case "binary_crossentropy":
                return ModelTestData.Uniform(random, 0, 1, predShape);
            case "categorical_crossentropy":
                // Soft labels: random distributions.
                var t = ModelTestData.Uniform(random, 0.05, 1, predShape);
                for (int v = 0; v < t.Length / width; v++)
                {
                    var row = t.Data.AsSpan(v * width, width);
                    float sum = 0;
                    foreach (var p in row) sum += p;
                    for (int i = 0; i < width; i++) row[i] /= sum;
                }
                return t;
            case "sparse_categorical_crossentropy":
                int[] shape = [.. predShape[..^1], 1];
                var labels = Tensor.Zeros(shape);
                for (int i = 0; i < labels.Length; i++) labels.Data[i] = random.Next(width);
                return labels;
            default:
                throw new ArgumentException(loss);
        }
    }
}

/// <summary>
/// Each loss on its own, on raw prediction vectors (including clipped probabilities), against the
/// reference's double formulas: value and gradient (by central differences).
/// </summary>
public sealed class LossGradientTests
{
    public static IEnumerable<object[]> All() =>
    [
        ["mse", false], ["mae", false], ["binary_crossentropy", false], ["binary_crossentropy", true],
        ["categorical_crossentropy", false], ["categorical_crossentropy", true],
        ["sparse_categorical_crossentropy", false], ["sparse_categorical_crossentropy", true],
    ];

    [Theory]
    [MemberData(nameof(All))]
    public void Loss_value_and_gradient_match_reference(string name, bool fromLogits)
    {
        const int width = 3;
        const float scale = 0.25f;
        var random = new Random(name.Length * 31 + (fromLogits ? 1 : 0));
        bool probabilities = !fromLogits && name != "mse" && name != "mae";
        var rows = new List<float[]>();
        for (int v = 0; v < 6; v++)
            rows.Add([.. Enumerable.Range(0, width).Select(_ => probabilities ? (float)(0.05 + 0.9 * random.NextDouble()) : (float)(random.NextDouble() * 4 - 2))]);
        if (probabilities)
        {
            // Clipped values: Keras clips to [1e-7, 1 - 1e-7] (in float32); clipped entries have no gradient.
            rows.Add([1e-9f, 0.6f, 0.4f]);
            rows.Add([1f, 0.3f, 0.2f]);
        }
        var pred = rows.SelectMany(r => r).ToArray();
        int vectors = rows.Count;
        bool sparse = name.StartsWith("sparse", StringComparison.Ordinal);
        var target = sparse
            ? Enumerable.Range(0, vectors).Select(_ => (float)random.Next(width)).ToArray()
            : GradientCheckTests.Targets(random, name, [vectors, width]).Data;

        var loss = Losses.Parse(name, fromLogits);
        var grad = new float[pred.Length];
        double value = loss.Compute(pred, target, width, grad, scale);

        var p = pred.Doubles();
        var y = target.Doubles();
        double Reference() => ReferenceModel.LossSum(name, fromLogits, p, [vectors, width], y);
        ModelTestData.AssertClose([scale * Reference()], [value], 1e-6, 1e-2, $"{name} value");
        var fd = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double original = p[i];
            // Keep the step on one side of a clipping bound (clip has a kink there).
            double toBound = Math.Min(Math.Abs(original - ReferenceModel.ClipLow), Math.Abs(original - ReferenceModel.ClipHigh));
            double h = probabilities ? Math.Min(1e-6, toBound / 4) : 1e-6;
            p[i] = original + h;
            double plus = Reference();
            p[i] = original - h;
            double minus = Reference();
            p[i] = original;
            fd[i] = scale * (plus - minus) / (2 * h);
        }
        ModelTestData.AssertClose(fd, grad.Doubles(), 1e-4, 1e-2, $"{name} (from_logits={fromLogits}) gradient");
    }
}
