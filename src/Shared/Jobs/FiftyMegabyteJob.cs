using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// A job whose weights are large enough to stress the cluster's transfers: 50 MB of float32
/// weights out to each worker and as much gradient back, every step. The cluster benchmark and
/// the large-model test both run it, so the test guards the load the benchmark measures.
/// SimpleRNN(64) on 64 features -> Dense(3500, tanh) -> Dense(3500, tanh) -> Dense(1):
/// 8,256 + 227,500 + 12,253,500 + 3,501 = 12,492,757 parameters. The bulk sits in a dense kernel,
/// not a recurrent one, so building the model needs no 3500x3500 orthogonal initialisation.
/// </summary>
public static class FiftyMegabyteJob
{
    public const long Parameters = 12_492_757;
    public const int Timesteps = 2;
    public const int Features = 64;

    /// <summary>One epoch, unshuffled, with a fixed seed; it waits for <paramref name="minWorkers"/> workers.</summary>
    public static JobSpec Spec(int batchSize, int minWorkers) => new()
    {
        Name = "fifty-megabytes",
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 64 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 3500, Activation = "tanh" },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 3500, Activation = "tanh" },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "adam", LearningRate = 1e-4f },
        Data = new DataSpec(),
        BatchSize = batchSize,
        Epochs = 1,
        Shuffle = false,
        Seed = 1,
        MinWorkers = minWorkers,
    };

    /// <summary>
    /// <paramref name="rows"/> sequences of uniform noise in [-1, 1), shape (rows, 2, 64), with a
    /// sine target; the values only need to be finite and the same on every run.
    /// </summary>
    public static Dataset Data(int rows)
    {
        var random = new Random(11);
        var x = new float[rows * Timesteps * Features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var y = new float[rows];
        for (int i = 0; i < rows; i++) y[i] = (float)Math.Sin(i * 0.7) * 0.5f;
        return new Dataset(new Tensor(x, rows, Timesteps, Features), new Tensor(y, rows, 1), [], "random");
    }
}
