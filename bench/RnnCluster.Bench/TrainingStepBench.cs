using System.Diagnostics;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Bench;

/// <summary>
/// One training step as the peer script does it: forward, backward and Adam update of an RNN
/// layer plus a Dense(1) head on the last output, MSE loss, explicit initial states.
/// </summary>
public sealed class TrainingStep
{
    private readonly GradientComputer _computer;
    private readonly float[] _parameters;
    private readonly float[] _gradients;
    private readonly float[] _x;
    private readonly float[] _y;
    private readonly Tensor?[] _states;
    private readonly IOptimizer _optimizer = new Adam(1e-3f);
    private readonly int _batch;
    private readonly int _timesteps;

    public TrainingStep(string cell, int batch, int timesteps, int features, int units, IMathKernels kernels, int seed = 1)
    {
        var spec = new ModelSpec
        {
            InputFeatures = features,
            Layers = [new LayerSpec { Kind = cell, Units = units }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }],
        };
        var network = new Network(spec, kernels);
        _computer = new GradientComputer(network, new MeanSquaredError());
        _parameters = Initializers.InitialParameters(network, seed);
        _gradients = new float[network.ParameterCount];
        var random = new Random(seed);
        _x = [.. Enumerable.Range(0, batch * timesteps * features).Select(_ => (float)random.NextDouble() - 0.5f)];
        _y = [.. Enumerable.Range(0, batch).Select(_ => (float)random.NextDouble())];
        _states = [.. network.StateSlots.Select(s => (Tensor?)new Tensor([.. Enumerable.Range(0, batch * s.Units).Select(_ => (float)random.NextDouble() * 0.2f - 0.1f)], batch, s.Units))];
        _batch = batch;
        _timesteps = timesteps;
        Kernels = kernels;
        ParameterCount = network.ParameterCount;
    }

    public IMathKernels Kernels { get; }

    public int ParameterCount { get; }

    public double Run()
    {
        double loss = _computer.Compute(_parameters, _x, _y, _batch, _timesteps, _states, _gradients);
        Kernels.Scale(1f / _batch, _gradients);
        _optimizer.Step(_parameters, _gradients);
        return loss;
    }

    /// <summary>Loss and gradient sum of one forward and backward pass (no update).</summary>
    public (double Loss, float[] Gradient) Gradient()
    {
        double loss = _computer.Compute(_parameters, _x, _y, _batch, _timesteps, _states, _gradients);
        return (loss, (float[])_gradients.Clone());
    }

    /// <summary>
    /// Median ms per step, and bytes allocated per step, after a warm-up of at least
    /// <paramref name="warmup"/> steps and <paramref name="warmupSeconds"/> seconds (so the JIT's
    /// tiered compilation has finished with the hot loops before timing starts).
    /// </summary>
    public (double MedianMs, long BytesPerStep) Measure(int warmup, double warmupSeconds, int iterations)
    {
        var times = new double[iterations];
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < warmupSeconds; i++) Run();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        long bytes = (GC.GetTotalAllocatedBytes(precise: true) - before) / iterations;
        Array.Sort(times);
        double median = iterations % 2 == 1 ? times[iterations / 2] : (times[iterations / 2 - 1] + times[iterations / 2]) / 2;
        return (median, bytes);
    }

    /// <summary>~6 B T G H (D + H) floating-point operations per step (docs/DESIGN.md).</summary>
    public static double Flops(string cell, int b, int t, int d, int h)
    {
        int g = cell switch { LayerKinds.Lstm => 4, LayerKinds.Gru => 3, _ => 1 };
        return 6.0 * b * t * g * h * (d + h);
    }
}
