using RnnCluster.Client;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Coordinator;

public static class Program
{
    public const string Usage = """
        usage: rnncluster <command> [options]

        commands:
          train [JOB]      train a job in local mode (no JOB: the built-in default job)
                 --workers N   worker actors (default: one per core)
                 --seed S      override the job's seed
                 --epochs E    override the job's epochs
                 --out DIR     write weights.npz, model.json, metrics.csv and loss.png
                 --math mkl|managed   math backend (default: RNNCLUSTER_MATH, else mkl)
                 --checkpoint-dir DIR checkpoint the job in DIR; run again after a crash to continue
                 --checkpoint-every epoch|N   each epoch (default) or every N steps and each epoch
                 --checkpoint-keep K   checkpoints kept per job (default 2)
                 --fresh       start over, discarding the job's checkpoints in DIR
          predict [JOB] --model DIR [--out FILE]
                 predict the job's data with a trained model (DIR holds model.json and
                 weights.npz); writes predictions and final states to FILE (default
                 DIR/predictions.npz)
          evaluate [JOB] --model DIR
                 loss and metrics of a trained model on the job's data
          coordinator      run a coordinator node of a cluster (see 'rnncluster coordinator --help')
                 --host H --port P (default 4053) --public-hostname N --seed ADDRESS...
          submit [JOB] --contact ADDRESS [--out DIR] [--timeout S]
                 run a job on a cluster, following it as train does (see 'rnncluster submit --help')
          status --contact ADDRESS
                 live workers and jobs of a cluster
          help             this text

        exit codes: 0 success, 1 error (one line on stderr), 2 usage error
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            var rest = args.Skip(1);
            return args[0] switch
            {
                "train" => await TrainCommand.RunAsync(rest, Console.Out),
                "predict" => ModelCommands.Predict(rest, Console.Out),
                "evaluate" => ModelCommands.Evaluate(rest, Console.Out),
                "coordinator" => await CoordinatorCommand.RunAsync(rest, Console.Out),
                "submit" => await SubmitCommand.RunAsync(rest, Console.Out),
                "status" => await SubmitCommand.StatusAsync(rest, Console.Out),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (Exception e) when (e is UsageException or Hosting.NodeOptionsException)
        {
            Console.Error.WriteLine($"rnncluster: {e.Message} (see 'rnncluster help')");
            return 2;
        }
        catch (Exception e) when (e is JobException or ModelException or MathBackendException or RnnClusterException
                                      or NpyFormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"rnncluster: error: {e.Message}");
            return 1;
        }
    }
}
