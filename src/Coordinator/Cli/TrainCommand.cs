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
        command.SetAction((result, _) => RunAsync(job.Read(result), result.GetValue(workers) ?? Environment.ProcessorCount,
            result.GetValue(outDir), result.GetValue(math), checkpoints.Read(result, resumeAllOnStart: false), checkpoints.Fresh(result),
            result.InvocationConfiguration.Output));
        return command;
    }

    private static async Task<int> RunAsync(JobSpec job, int workers, string? outDir, string? math, CoordinatorCheckpoints? checkpoints, bool fresh, TextWriter output)
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
        using var handle = await local.Client.StartWatchedJobAsync(job, data);
        int exitCode = await JobFollower.FollowAsync(handle, job, data, outDir, output);
        // With more than one MKL thread, say whether the second core was used (the local workers run in this process).
        if (kernels.Kind == MathKind.Mkl && Mkl.ConfiguredThreads > 1)
            output.WriteLine($"recurrent passes split over two threads: {TimeLoopThreads.SplitPasses}");
        return exitCode;
    }
}

/// <summary>
/// Follows a started job to its end for the commands that run one (train, submit): progress
/// lines, then the outputs on success or a one-line error on failure.
/// </summary>
public static class JobFollower
{
    /// <param name="lost">Completes (by throwing) when the connection to the coordinator is lost; null in local mode.</param>
    public static async Task<int> FollowAsync(JobHandle handle, JobSpec job, Dataset data, string? outDir, TextWriter output, Task? lost = null)
    {
        var progress = new ConsoleProgress(output, interactive: !Console.IsOutputRedirected, job.Epochs);
        await using var events = handle.Events().GetAsyncEnumerator();
        while (true)
        {
            var next = events.MoveNextAsync().AsTask();
            if (lost is not null && await Task.WhenAny(next, lost) == lost) await lost; // throws: the coordinator is gone
            if (!await next) break;
            var e = events.Current;
            progress.OnEvent(e);
            switch (e)
            {
                case JobFailed f:
                    throw new JobException($"job {f.JobId} failed: {f.Reason}");
                case JobFinished f:
                    if (outDir is not null)
                    {
                        var model = job.ModelFor(data.X.Shape[2]);
                        JobOutputs.Write(outDir, model, f.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value)), progress.History, job.Name);
                        output.WriteLine($"wrote {Path.Combine(outDir, "weights.npz")}, model.json, metrics.csv, loss.png");
                    }
                    output.WriteLine($"job {f.JobId} finished: final loss {progress.History.LastOrDefault()?.Loss:0.000000}");
                    return 0;
            }
        }
        throw new JobException("the job's progress stream ended without a result");
    }
}

/// <summary>The files <c>--out DIR</c> holds: weights.npz (Keras layout), model.json, metrics.csv, loss.png.</summary>
public static class JobOutputs
{
    /// <exception cref="JobException">The folder or a file in it cannot be written (the message names the path).</exception>
    public static void Write(string dir, ModelSpec model, IEnumerable<KeyValuePair<string, Tensor>> weights, IReadOnlyList<EpochMetrics> history, string title)
    {
        try
        {
            Directory.CreateDirectory(dir);
            WeightsFile.Save(Path.Combine(dir, "weights.npz"), weights);
            File.WriteAllText(Path.Combine(dir, "model.json"), model.ToJson());
            MetricsCsv.Write(Path.Combine(dir, "metrics.csv"), history);
            LossPlot.WritePng(Path.Combine(dir, "loss.png"), [.. history.Select(h => h.Loss)],
                history.All(h => h.ValLoss is not null) && history.Count > 0 ? [.. history.Select(h => h.ValLoss!.Value)] : null, title);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobException($"cannot write the output folder {dir}: {e.Message}");
        }
    }
}
