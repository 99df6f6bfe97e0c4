using System.CommandLine;
using RnnCluster.Client;
using RnnCluster.CommandLine;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Coordinator;

/// <summary>
/// <c>rnncluster</c>: one command per file under <c>Cli/</c>, each a static <c>Create()</c>
/// returning its <see cref="Command"/>; a new command is a new file and one line in <see cref="CreateRoot"/>.
/// </summary>
public static class Program
{
    public const string Description = """
        Trains recurrent networks (SimpleRNN, LSTM, GRU + Dense; Keras semantics) in local mode or on
        an Akka.NET cluster, with initial states and stateful training as data.
        Exit codes: 0 success, 1 error (one line on stderr), 2 usage error.
        """;

    public static Task<int> Main(string[] args) => CreateProgram().RunAsync(args);

    public static CliProgram CreateProgram() => new(CreateRoot(), IsError);

    public static Command CreateRoot()
    {
        var root = CliProgram.CreateRoot("rnncluster", Description);
        root.Add(TrainCommand.Create());
        root.Add(PredictCommand.Create());
        root.Add(EvaluateCommand.Create());
        root.Add(CoordinatorCommand.Create());
        root.Add(SubmitCommand.Create());
        root.Add(StatusCommand.Create());
        root.Add(ExportCommand.Create());
        root.Add(SummaryCommand.Create());
        root.Add(CertsCommand.Create());
        root.Add(HelpCommand.Create(root));
        return root;
    }

    /// <summary>The failures a user can cause and fix (one line, exit 1); anything else is a bug and keeps its stack trace.</summary>
    private static bool IsError(Exception e) =>
        e is JobException or ModelException or MathBackendException or RnnClusterException or Security.CertificateException
            or NpyFormatException or FileNotFoundException or DirectoryNotFoundException;
}
