using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Worker;

/// <summary>What one shard's rows give: loss sum, gradient sums and final states (the latter two in a replica's buffers).</summary>
public sealed record ShardSums(int Rows, double LossSum, float[] GradientSum, Tensor[] FinalStates);

/// <summary>
/// The worker's math as a pure function: (replica weights, shard, initial states) gives
/// (loss sum, gradient sums, final states, row count). The actors only move data in and out.
/// </summary>
public static class ShardMath
{
    /// <summary>Computes a shard; the gradient sums and final states are written into <paramref name="outputs"/>'s buffers.</summary>
    public static ShardSums Compute(GradientComputer computer, ReadOnlySpan<float> parameters, Tensor x, Tensor y, IReadOnlyList<Tensor> initialStates,
        ShardOutputs outputs, string what)
    {
        var network = computer.Network;
        var (batch, timesteps) = Shapes.CheckInput(network.Spec, x, $"{what} x");
        Shapes.CheckTarget(network, computer.LossFunction, y, batch, timesteps, $"{what} y");
        var gradients = outputs.Gradients;
        double lossSum = computer.Compute(parameters, x.Data, y.Data, batch, timesteps, StatesOrZeros(initialStates), gradients);
        var finalStates = outputs.FinalStates(batch);
        for (int k = 0; k < finalStates.Length; k++) network.FinalState(k).CopyTo(finalStates[k].Data);
        return new ShardSums(batch, lossSum, gradients, finalStates);
    }

    public static PredictResult Predict(Network network, ReadOnlySpan<float> parameters, string jobId, Tensor x, IReadOnlyList<Tensor> initialStates)
    {
        var (batch, timesteps) = Shapes.CheckInput(network.Spec, x);
        network.Forward(parameters, x.Data, batch, timesteps, StatesOrZeros(initialStates));
        var output = Tensor.Zeros(network.PredictionShape(batch, timesteps));
        network.CopyPrediction(output.Data);
        // New arrays, not reused buffers: the client keeps a prediction for as long as it likes.
        return new PredictResult(jobId, output, FinalStates(network, batch));
    }

    private static IReadOnlyList<Tensor?>? StatesOrZeros(IReadOnlyList<Tensor> states) => states.Count == 0 ? null : states;

    private static Tensor[] FinalStates(Network network, int batch) =>
        [.. network.StateSlots.Select((s, k) => new Tensor(network.FinalState(k).ToArray(), batch, s.Units))];
}
