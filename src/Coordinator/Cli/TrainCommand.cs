using System.CommandLine;
using RnnCluster.Client;
using RnnCluster.CommandLine;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Model.Recurrent;
using RnnCluster.Numerics;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster train [JOB] [--workers N] [--seed S] [--epochs E] [--out DIR] [--math mkl|managed]
/// [--checkpoint-dir DIR [--checkpoint-every epoch|N] [--checkpoint-keep K] [--fresh]]</c>: local mode.
/// With a checkpoint folder the same command after a crash continues from the job's newest checkpoint.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var job = new JobArguments(overrides: true);
        var workers = CliOptions.Int("--workers", "N", "worker actors (default: one per core)", min: 1);
        var outDir = CliOptions.Text("--out", "DIR", "write weights.npz, model.json, metrics.csv and loss.png to this folder (created if missing)");
        var math = CliOptions.Math();
        var checkpoints = new CheckpointArguments(fresh: true);
        var command = new Command("train", "train a job in local mode: one process, the coordinator and N worker actors");
        job.AddTo(command);
        command.Add(workers);
        command.Add(outDir);
        command.Add(math);
        checkpoints.AddTo(command);
        var httpPort = Http.HttpCommandLine.PortOption();
        command.Add(httpPort);
        command.SetAction((result, _) => RunAsync(job.Read(result), result.GetValue(workers) ?? Environment.ProcessorCount,
            result.GetValue(outDir), result.GetValue(math), checkpoints.Read(result, resumeAllOnStart: false), checkpoints.Fresh(result),
            result.InvocationConfiguration.Output, result.GetValue(httpPort)));
        return command;
    }

    private static async Task<int> RunAsync(JobSpec job, int workers, string? outDir, string? math, CoordinatorCheckpoints? checkpoints, bool fresh,
        TextWriter output, int? httpPort = null)
    {
        var kernels = MathBackend.Start(MathOptions.FromEnvironment(math));
        output.WriteLine(MathBackend.Describe(kernels));

        var data = JobArguments.LoadData(job);
        if (outDir is not null && File.Exists(outDir))
            throw new JobException($"--out {outDir} is a file; expected a folder (it is created if missing)");
        output.WriteLine($"job '{job.Name}': {data.Description}; {job.Epochs} epochs of batch {job.BatchSize}; local mode with {workers} worker(s)");
        // Local mode knows its workers: wait for all of them so every run of the job cuts the same shards.
        job = job with { MinWorkers = workers };
        if (checkpoints is not null) CheckpointArguments.Prepare(checkpoints, fresh, job, data, output);

        await using var local = LocalMode.Start(workers, kernels, logLevel: "WARNING", checkpoints: checkpoints);
        await local.WaitForWorkersAsync(TimeSpan.FromSeconds(30));
        await using var http = await Http.HttpCommandLine.StartIfAskedAsync(httpPort, local.Client, Http.HttpApi.LocalNode(workers), output.WriteLine);
        using var handle = await local.Client.StartWatchedJobAsync(job, data);
        int exitCode = await JobConsole.FollowAsync(handle, job, data, outDir, output);
        // With more than one MKL thread, say whether the second core was used (the local workers run in this process).
        if (kernels.Kind == MathKind.Mkl && Mkl.ConfiguredThreads > 1)
            output.WriteLine($"recurrent passes split over two threads: {TimeLoopThreads.SplitPasses}");
        return exitCode;
    }
}
