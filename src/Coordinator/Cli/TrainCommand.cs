using RnnCluster.Checkpoints;
using RnnCluster.Client;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Model.Recurrent;
using RnnCluster.Numerics;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster train [JOB] [--workers N] [--seed S] [--epochs E] [--out DIR] [--checkpoint-dir DIR
/// [--checkpoint-every epoch|N] [--fresh]]</c>: local mode. With a checkpoint folder the job
/// checkpoints there and the same command after a crash continues from the newest checkpoint.
/// </summary>
public static class TrainCommand
{
    private static readonly HashSet<string> ValueOptions = ["workers", "seed", "epochs", "out", "math", "checkpoint-dir", "checkpoint-every", "checkpoint-keep"];
    private static readonly HashSet<string> Flags = ["fresh"];

    public static async Task<int> RunAsync(IEnumerable<string> args, TextWriter output)
    {
        var a = new CliArguments(args, ValueOptions, Flags);
        var job = JobFiles.FromArguments(a);
        int workers = a.Int("workers", min: 1) ?? Environment.ProcessorCount;
        var kernels = MathBackend.Start(MathOptions.FromEnvironment(a.Value("math")));
        output.WriteLine(MathBackend.Describe(kernels));

        var data = JobFiles.LoadData(job);
        if (a.Value("out") is { } outPath && File.Exists(outPath))
            throw new JobException($"--out {outPath} is a file; expected a folder (it is created if missing)");
        output.WriteLine($"job '{job.Name}': {data.Description}; {job.Epochs} epochs of batch {job.BatchSize}; local mode with {workers} worker(s)");
        // Local mode knows its workers: wait for all of them so every run of the job cuts the same shards.
        job = job with { MinWorkers = workers };
        var checkpoints = CheckpointOptions(a, job, data, output);

        await using var local = LocalMode.Start(workers, kernels, logLevel: "WARNING", checkpoints: checkpoints);
        await local.WaitForWorkersAsync(TimeSpan.FromSeconds(30));
        using var handle = await local.Client.StartWatchedJobAsync(job, data);
        int exitCode = await JobFollower.FollowAsync(handle, job, data, a.Value("out"), output);
        // With more than one MKL thread, say whether the second core was used (the local workers run in this process).
        if (kernels.Kind == MathKind.Mkl && Mkl.ConfiguredThreads > 1)
            output.WriteLine($"recurrent passes split over two threads: {TimeLoopThreads.SplitPasses}");
        return exitCode;
    }

    /// <summary>--checkpoint-dir, --checkpoint-every, --checkpoint-keep and --fresh; says where the job's checkpoints are and where it resumes.</summary>
    private static CoordinatorCheckpoints? CheckpointOptions(CliArguments a, JobSpec job, Dataset data, TextWriter output)
    {
        if (a.Value("checkpoint-dir") is not { } dir)
        {
            foreach (var o in new[] { "checkpoint-every", "checkpoint-keep", "fresh" })
                if (a.Has(o)) throw new UsageException($"--{o} needs --checkpoint-dir");
            return null;
        }
        if (File.Exists(dir)) throw new JobException($"--checkpoint-dir {dir} is a file; expected a folder (it is created if missing)");
        CheckpointPolicy policy;
        try
        {
            policy = CheckpointPolicy.Parse(a.Value("checkpoint-every"));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        var options = new CoordinatorCheckpoints(dir, policy, a.Int("checkpoint-keep", min: 1) ?? 2);
        var store = options.CreateStore();
        var key = JobKey.Of(job.Name, job.ToJson(), data);
        try
        {
            if (a.Has("fresh")) store.Discard(key);
            var latest = store.Latest(key, w => output.WriteLine($"warning: {w}"));
            output.WriteLine(latest is null
                ? $"checkpoints: {store.JobDirectory(key)}"
                : $"checkpoints: {store.JobDirectory(key)}; resuming at epoch {Math.Min(latest.Cursor.Epoch + 1, job.Epochs)}, batch {latest.Cursor.Batch} (step {latest.Cursor.Step})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobException($"cannot use the checkpoint folder {dir}: {e.Message}");
        }
        return options;
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

/// <summary>Job-file handling shared by the commands.</summary>
public static class JobFiles
{
    /// <summary>The JOB argument (or the built-in default job) with --seed and --epochs applied.</summary>
    public static JobSpec FromArguments(CliArguments a)
    {
        if (a.Positional.Count > 1) throw new UsageException($"expected at most one JOB file, got {a.Positional.Count}");
        var job = a.Positional.Count == 1 ? JobSpec.Load(a.Positional[0]) : DefaultJob.Spec;
        if (a.Int("seed") is { } seed) job = job with { Seed = seed };
        if (a.Int("epochs", min: 1) is { } epochs) job = job with { Epochs = epochs };
        return job;
    }

    /// <summary>Loads and checks the job's data against its model before anything starts.</summary>
    public static Dataset LoadData(JobSpec job)
    {
        var data = DataLoader.Load(job, job.Name);
        DataLoader.CheckFits(data, job);
        return data;
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
