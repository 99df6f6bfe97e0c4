using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MathNet.Numerics.Providers.LinearAlgebra;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Bench;

/// <summary>
/// <c>rnncluster-bench first-step [--features 1] [--hidden 768] [--batch 64] [--steps-time 10] [--seed 7] [--rounds 3]</c>:
/// what a job's start costs before its first step, on the 7.1 M-parameter model
/// (2 x LSTM(768) + Dense(1)), with MKL kernels: the initial weights (glorot kernels and the
/// orthogonal recurrent kernels' QR) with the QR in MathNet's managed provider (where it ran before
/// the provider did QR in MKL) and in MKL's LAPACK, alternately in one process, then building the
/// network and its first forward and backward pass. Prints a hash of each set of initial weights,
/// so that reruns can be checked for the same bits.
/// </summary>
public static class FirstStepBench
{
    public static void Run(IMathKernels kernels, int features, int units, int batch, int timesteps, int seed, int rounds, TextWriter output)
    {
        var spec = new ModelSpec
        {
            InputFeatures = features,
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.Lstm, Units = units, ReturnSequences = true },
                new LayerSpec { Kind = LayerKinds.Lstm, Units = units },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        };
        long start = Stopwatch.GetTimestamp();
        var network = new Network(spec, kernels);
        double networkMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        output.WriteLine($"2 x LSTM({units}) + Dense(1), {network.ParameterCount:N0} parameters, {MathBackend.Describe(kernels)}");

        var providers = new (string Name, ILinearAlgebraProvider<double> Provider)[]
        {
            ("managed QR", ManagedLinearAlgebraProvider.Instance),
            ("MKL QR", MklLinearAlgebraProvider.Instance),
        };
        var times = providers.ToDictionary(p => p.Name, _ => new List<double>());
        var cpu = providers.ToDictionary(p => p.Name, _ => new List<double>());
        float[] parameters = [];
        for (int round = 0; round < rounds; round++)
            foreach (var (name, provider) in providers)
            {
                var cpu0 = CpuMs();
                long t0 = Stopwatch.GetTimestamp();
                parameters = Initializers.InitialParameters(network, seed, provider);
                times[name].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                cpu[name].Add(CpuMs() - cpu0);
                output.WriteLine($"  round {round + 1}: initial weights with {name,-10} {times[name][^1],7:0} ms wall, {cpu[name][^1],7:0} ms CPU, weights sha256 {Hash(parameters)}");
            }
        foreach (var (name, list) in times)
            output.WriteLine($"initial weights with {name,-10}: median {Median(list),7:0} ms wall (min {list.Min():0}, max {list.Max():0}), median {Median(cpu[name]),7:0} ms CPU, over {list.Count} runs");

        // The job's path with MKL loaded: default provider choice, then the first step.
        var cpu1 = CpuMs();
        long t1 = Stopwatch.GetTimestamp();
        parameters = Initializers.InitialParameters(network, seed);
        long initialized = Stopwatch.GetTimestamp();
        var random = new Random(seed);
        var x = new float[batch * timesteps * features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble() - 0.5f;
        var y = new float[batch];
        for (int i = 0; i < y.Length; i++) y[i] = (float)random.NextDouble();
        var gradients = new float[network.ParameterCount];
        var computer = new GradientComputer(network, new MeanSquaredError());
        double loss = computer.Compute(parameters, x, y, batch, timesteps, new Tensor?[network.StateSlots.Count], gradients);
        long stepped = Stopwatch.GetTimestamp();
        var cpu2 = CpuMs();
        output.WriteLine($"job path: network {networkMs:0} ms + initial weights {Stopwatch.GetElapsedTime(t1, initialized).TotalMilliseconds:0} ms + " +
            $"first step (B={batch}, T={timesteps}, first call, JIT included) {Stopwatch.GetElapsedTime(initialized, stepped).TotalMilliseconds:0} ms; loss {loss:0.000000}; weights sha256 {Hash(parameters)}");
        output.WriteLine($"job path: {Stopwatch.GetElapsedTime(t1, stepped).TotalMilliseconds:0} ms wall, {cpu2 - cpu1:0} ms CPU from initial weights to first step done");
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>This process's CPU time: on a loaded machine, the figure that does not depend on the neighbours.</summary>
    private static double CpuMs() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    private static string Hash(float[] values) =>
        Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())))[..16].ToLowerInvariant();
}
