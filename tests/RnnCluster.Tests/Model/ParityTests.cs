using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>
/// Every *.npz in tests/fixtures/parity is a case; dropping a file there adds a test. Each case
/// checks prediction, loss, final states, every weight and initial-state gradient, a stateful
/// second batch and the weights after two Adam steps against a float64 Keras reference.
/// </summary>
public sealed class ParityTests
{
    private const double Relative = 1e-4;
    private const double Absolute = 1e-5;

    [Theory]
    [MemberData(nameof(ParityCase.All), MemberType = typeof(ParityCase))]
    public void Parity_matches_keras_reference(string file) => Run(file, MathKind.Mkl);

    [Theory]
    [MemberData(nameof(ParityCase.All), MemberType = typeof(ParityCase))]
    public void Parity_matches_keras_reference_with_managed_math(string file) => Run(file, MathKind.Managed);

    private static void Run(string file, MathKind math)
    {
        var c = new ParityCase(Path.Combine(ParityCase.Folder, file));
        var kernels = math == MathKind.Mkl ? new MklKernels() : (IMathKernels)new ManagedKernels();
        var model = Sequential.FromSpec(c.Spec, kernels);
        model.SetWeights(model.Network.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, c[w.Name])));
        var states = model.Network.StateSlots.Select(s => (Tensor?)c[$"layer{s.LayerIndex}.initial_state{s.StateIndex}"]).ToList();

        // Forward: prediction and final states.
        var prediction = model.Predict(c["x"], states);
        AssertClose(c.Doubles("expected.prediction"), prediction.Output.Data, "prediction", file);
        for (int k = 0; k < states.Count; k++)
        {
            var s = model.Network.StateSlots[k];
            AssertClose(c.Doubles($"expected.layer{s.LayerIndex}.final_state{s.StateIndex}"), prediction.FinalStates[k].Data, $"final state {k}", file);
        }

        // Loss and gradients: weights and initial states.
        model.Compile(c.Loss, new Adam(new OptimizerSpec { LearningRate = 0.01f, Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-7f }));
        var grads = model.ComputeGradients(c["x"], c["y"], states);
        int batch = c["x"].Shape[0];
        AssertClose(c.Doubles("expected.loss"), [(float)(grads.LossSum / batch)], "loss", file);
        foreach (var w in model.Network.Weights)
        {
            var mean = grads.GradientSum.AsSpan(w.Offset, w.Length).ToArray().Select(g => g / batch).ToArray();
            AssertClose(c.Doubles($"expected.grad.{w.Name}"), mean, $"grad {w.Name}", file);
        }
        for (int k = 0; k < states.Count; k++)
        {
            var s = model.Network.StateSlots[k];
            var mean = grads.InitialStateGradients[k].Data.Select(g => g / batch).ToArray();
            AssertClose(c.Doubles($"expected.grad.layer{s.LayerIndex}.initial_state{s.StateIndex}"), mean, $"initial-state grad {k}", file);
        }

        // Stateful second batch: starts from the first batch's final states.
        var stateful = Sequential.FromSpec(c.Spec with { Layers = [.. c.Spec.Layers.Select(l => l.IsRecurrent ? l with { Stateful = true } : l)] }, kernels);
        stateful.SetWeights(model.GetWeights());
        stateful.ResetStates(states.Select(s => s!).ToList());
        stateful.Predict(c["x"]);
        var second = stateful.Predict(c["stateful.x2"]);
        AssertClose(c.Doubles("expected.stateful.prediction2"), second.Output.Data, "stateful prediction2", file);
        for (int k = 0; k < states.Count; k++)
        {
            var s = model.Network.StateSlots[k];
            AssertClose(c.Doubles($"expected.stateful.layer{s.LayerIndex}.final_state{s.StateIndex}"), second.FinalStates[k].Data, $"stateful final state {k}", file);
        }

        // Two Adam steps from the given initial states.
        model.TrainOnBatch(c["x"], c["y"], states);
        model.TrainOnBatch(c["x"], c["y"], states);
        foreach (var (name, value) in model.GetWeights())
            AssertClose(c.Doubles($"expected.adam2.{name}"), value.Data, $"adam2 {name}", file);
    }

    internal static void AssertClose(double[] expected, float[] actual, string what, string file)
    {
        Assert.True(expected.Length == actual.Length, $"{file} {what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            Assert.True(err <= Absolute + Relative * Math.Abs(expected[i]),
                $"{file} {what}[{i}]: got {actual[i]:R}, expected {expected[i]:R} (error {err:E2})");
        }
    }
}
