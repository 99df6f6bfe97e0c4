using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Bench.Commands;

/// <summary>The options that describe one training step's shape and math, shared by the bench commands.</summary>
public sealed class StepShape
{
    public Option<string> Cell { get; }
    public Option<int> Batch { get; }
    public Option<int> Timesteps { get; }
    public Option<int> Features { get; }
    public Option<int> Hidden { get; }
    public Option<int> Threads { get; } = CliOptions.Int("--threads", "N", "MKL threads", defaultValue: 1, min: 1);
    public Option<string> Math { get; } = CliOptions.OneOf("--math", "math backend", "mkl", "mkl", "managed");

    public StepShape(string cell, int batch, int timesteps, int features, int hidden)
    {
        Cell = CliOptions.OneOf("--cell", "recurrent cell", cell, "rnn", "simple_rnn", "lstm", "gru");
        Batch = CliOptions.Int("--batch", "B", "batch rows", batch, min: 1);
        Timesteps = CliOptions.Int("--steps-time", "T", "timesteps per sequence", timesteps, min: 1);
        Features = CliOptions.Int("--features", "D", "input features", features, min: 1);
        Hidden = CliOptions.Int("--hidden", "H", "units of the recurrent layer", hidden, min: 1);
    }

    /// <param name="threads">Whether the command takes --threads (local mode runs sequential MKL per worker).</param>
    public void AddTo(Command command, bool threads = true)
    {
        command.Add(Cell);
        command.Add(Batch);
        command.Add(Timesteps);
        command.Add(Features);
        command.Add(Hidden);
        if (threads) command.Add(Threads);
        command.Add(Math);
    }

    /// <summary>The layer kind for --cell (rnn is SimpleRNN).</summary>
    public static string Kind(string cell) => cell is "rnn" or "simple_rnn" ? LayerKinds.SimpleRnn : cell;

    /// <summary>Starts the math backend --math names with <paramref name="threads"/> MKL threads.</summary>
    public IMathKernels StartMath(ParseResult result, int threads) =>
        MathBackend.Start(new MathOptions(MathOptions.ParseKind(result.GetValue(Math)), threads));
}
