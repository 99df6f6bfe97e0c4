namespace RnnCluster.Model;

/// <summary>
/// The worker's math as one pure function of (parameters, batch, initial states): returns the
/// loss summed over the batch's rows and writes the gradient of that sum. Final states and
/// initial-state gradients are read from the network afterwards. Summing (not averaging) is
/// what lets shards computed on different workers add up to the global batch exactly; the
/// caller divides by the global batch size.
/// </summary>
public sealed class GradientComputer(Network network, ILoss loss)
{
    public Network Network => network;
    public ILoss LossFunction => loss;

    public double Compute(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        int batch, int timesteps, IReadOnlyList<Tensor?>? initialStates, Span<float> gradientSum)
    {
        network.Forward(parameters, x, batch, timesteps, initialStates);
        double lossSum = network.Loss(loss, y);
        network.Backward(parameters, gradientSum);
        return lossSum;
    }

    /// <summary>Allocating convenience form: everything a shard's result carries.</summary>
    public BatchGradients ComputeAll(ReadOnlySpan<float> parameters, Tensor x, Tensor y, IReadOnlyList<Tensor?>? initialStates)
    {
        var (batch, timesteps) = Shapes.CheckInput(network.Spec, x);
        var gradients = new float[network.ParameterCount];
        double lossSum = Compute(parameters, x.Data, y.Data, batch, timesteps, initialStates, gradients);
        var finals = new Tensor[network.StateSlots.Count];
        var stateGrads = new Tensor[network.StateSlots.Count];
        for (int k = 0; k < finals.Length; k++)
        {
            int units = network.StateSlots[k].Units;
            finals[k] = new Tensor(network.FinalState(k).ToArray(), batch, units);
            stateGrads[k] = new Tensor(network.InitialStateGrad(k).ToArray(), batch, units);
        }
        return new BatchGradients(lossSum, batch, gradients, finals, stateGrads) { LossRows = network.LossRows };
    }
}

/// <summary>Loss and gradients summed over a batch's rows, with its final states and dL/d(initial states).</summary>
public sealed record BatchGradients(double LossSum, int Rows, float[] GradientSum, Tensor[] FinalStates, Tensor[] InitialStateGradients)
{
    /// <summary>What the sums are divided by for Keras's mean (<see cref="Network.LossRows"/>): the rows, or the unmasked steps over T.</summary>
    public double LossRows { get; init; } = Rows;
}

public static class Shapes
{
    /// <summary>Checks x is (B, T, D) with the model's D; returns (B, T).</summary>
    public static (int Batch, int Timesteps) CheckInput(ModelSpec spec, Tensor x, string what = "x")
    {
        if (x.Rank != 3 || x.Shape[2] != spec.InputFeatures)
            throw new ModelException($"{what} has shape {Tensor.FormatShape(x.Shape)}; expected (batch, timesteps, {spec.InputFeatures})");
        return (x.Shape[0], x.Shape[1]);
    }

    /// <summary>Checks y fits the model's output and loss for (B, T).</summary>
    public static void CheckTarget(Network network, ILoss loss, Tensor y, int batch, int timesteps, string what = "y")
    {
        var expected = network.TargetShape(loss, batch, timesteps);
        int expectedLength = expected.Aggregate(1, (a, b) => a * b);
        // Class indices may come without the trailing axis of width 1, as in Keras.
        bool ok = y.ShapeEquals(expected) || (y.Length == expectedLength && y.Shape[0] == batch && expected[^1] == 1);
        if (!ok)
            throw new ModelException($"{what} has shape {Tensor.FormatShape(y.Shape)}; expected {Tensor.FormatShape(expected)} for loss {loss.Name}");
    }
}
