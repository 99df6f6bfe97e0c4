using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Numerics;

namespace RnnCluster.Bench.Commands;

/// <summary><c>rnncluster-bench first-step</c>: a 7.1 M-parameter job's initial weights (QR managed vs MKL) and first step (<see cref="FirstStepBench"/>).</summary>
public static class FirstStepCommand
{
    public static Command Create()
    {
        var features = CliOptions.Int("--features", "D", "input features", defaultValue: 1, min: 1);
        var hidden = CliOptions.Int("--hidden", "H", "units of each LSTM layer", defaultValue: 768, min: 1);
        var batch = CliOptions.Int("--batch", "B", "batch rows of the first step", defaultValue: 64, min: 1);
        var timesteps = CliOptions.Int("--steps-time", "T", "timesteps per sequence", defaultValue: 10, min: 1);
        var seed = CliOptions.Int("--seed", "S", "seed of the initial weights", defaultValue: 7, min: 0);
        var rounds = CliOptions.Int("--rounds", "N", "alternating rounds of managed and MKL QR", defaultValue: 3, min: 1);
        var threads = CliOptions.Int("--threads", "N", "MKL threads", defaultValue: 1, min: 1);
        var command = new Command("first-step", "time a 7.1 M-parameter job's initial weights (QR in the managed provider vs MKL) and its first step")
            { features, hidden, batch, timesteps, seed, rounds, threads };
        command.SetAction(r =>
        {
            var kernels = MathBackend.Start(new MathOptions(MathKind.Mkl, r.GetValue(threads)));
            FirstStepBench.Run(kernels, r.GetValue(features), r.GetValue(hidden), r.GetValue(batch), r.GetValue(timesteps), r.GetValue(seed),
                r.GetValue(rounds), r.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }
}
