using BenchmarkDotNet.Attributes;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Bench;

/// <summary>The engine's kernels and one LSTM training step, MKL against managed math.</summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private readonly float[] _a = new float[64 * 256];
    private readonly float[] _b = new float[256 * 1024];
    private readonly float[] _c = new float[64 * 1024];
    private readonly float[] _v = new float[64 * 1024];
    private IMathKernels _kernels = null!;
    private TrainingStep _step = null!;

    [Params("mkl", "managed")]
    public string Math { get; set; } = "mkl";

    [GlobalSetup]
    public void Setup()
    {
        _kernels = Math == "mkl" ? new MklKernels() : new ManagedKernels();
        var random = new Random(1);
        foreach (var array in new[] { _a, _b, _v })
            for (int i = 0; i < array.Length; i++) array[i] = (float)random.NextDouble() - 0.5f;
        _step = new TrainingStep(LayerKinds.Lstm, 32, 20, 16, 64, _kernels);
    }

    /// <summary>The recurrent product of an LSTM step at B=64, H=256.</summary>
    [Benchmark]
    public void RecurrentGemm() => _kernels.Gemm(false, false, 64, 1024, 256, 1f, _a, 256, _b, 1024, 0f, _c, 1024);

    [Benchmark]
    public void Tanh() => _kernels.Tanh(_v, _c);

    [Benchmark]
    public double LstmTrainingStep() => _step.Run();
}
