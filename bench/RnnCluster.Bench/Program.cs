using System.CommandLine;
using System.Globalization;
using RnnCluster.Bench.Commands;
using RnnCluster.CommandLine;
using RnnCluster.Numerics;

namespace RnnCluster.Bench;

/// <summary><c>rnncluster-bench</c>: the engine's benchmarks, one command per file under <c>Commands/</c>.</summary>
public static class BenchProgram
{
    public static Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        return CreateProgram().RunAsync(args);
    }

    public static CliProgram CreateProgram() => new(CreateRoot(), e => e is MathBackendException or IOException or UnauthorizedAccessException);

    public static Command CreateRoot()
    {
        var root = CliProgram.CreateRoot("rnncluster-bench", "Benchmarks of the engine: a training step, its profile, sgemm, local-mode scaling, BenchmarkDotNet kernels.");
        root.Add(StepCommand.Create());
        root.Add(ProfileCommand.Create());
        root.Add(SgemmCommand.Create());
        root.Add(LocalCommand.Create());
        root.Add(GradCommand.Create());
        root.Add(FirstStepCommand.Create());
        root.Add(KernelsCommand.Create());
        return root;
    }
}
