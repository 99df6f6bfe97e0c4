using System.CommandLine;

namespace RnnCluster.Bench.Commands;

/// <summary><c>rnncluster-bench kernels [-- BenchmarkDotNet options]</c>: BenchmarkDotNet over the engine's kernels (MKL against managed).</summary>
public static class KernelsCommand
{
    public static Command Create()
    {
        // BenchmarkDotNet parses its own options (--filter, --job, ...): they come after "--".
        var passed = new Argument<string[]>("BENCHMARKDOTNET-ARGS")
        {
            Description = "BenchmarkDotNet's own options, after '--' (e.g. -- --filter '*Gemm*')",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("kernels", "run BenchmarkDotNet over the engine's kernels (MKL against managed)") { passed };
        command.SetAction(r =>
        {
            BenchmarkDotNet.Running.BenchmarkRunner.Run<KernelBenchmarks>(args: r.GetValue(passed) ?? []);
            return 0;
        });
        return command;
    }
}
