using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Worker;

/// <summary>
/// The worker's math as a pure function: (replica weights, shard, initial states) gives
/// (loss sum, gradient sums, final states, row count). The actor only moves data in and out.
/// </summary>
public static class ShardMath
{
    /// <summary>Computes a shard; the result's gradient sums and final states are written into <paramref name="outputs"/>'s buffers.</summary>
    public static ShardResult Compute(GradientComputer computer, ReadOnlySpan<float> parameters, ComputeShard shard, ShardOutputs outputs)
    {
        var network = computer.Network;
        var (batch, timesteps) = Shapes.CheckInput(network.Spec, shard.X, $"shard {shard.ShardId} x");
        Shapes.CheckTarget(network, computer.LossFunction, shard.Y, batch, timesteps, $"shard {shard.ShardId} y");
        var gradients = outputs.Gradients;
        double lossSum = computer.Compute(parameters, shard.X.Data, shard.Y.Data, batch, timesteps,
            StatesOrZeros(shard.InitialStates), gradients);
        var finalStates = outputs.FinalStates(batch);
        for (int k = 0; k < finalStates.Length; k++) network.FinalState(k).CopyTo(finalStates[k].Data);
        return new ShardResult(shard.JobId, shard.Step, shard.ShardId, batch, lossSum,
            new Tensor(gradients, gradients.Length), finalStates);
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
