using System.CommandLine;
using RnnCluster.Checkpoints;
using RnnCluster.CommandLine;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Jobs;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>--checkpoint-dir DIR [--checkpoint-every epoch|N] [--checkpoint-keep K]</c> for the commands
/// that run jobs (train, coordinator), and <c>--fresh</c> for train.
/// </summary>
public sealed class CheckpointArguments
{
    private readonly Option<string?> _dir = CliOptions.Text("--checkpoint-dir", "DIR",
        "checkpoint jobs in this folder (created if missing); run the same command again after a crash to continue from the newest checkpoint");
    private readonly Option<string?> _every = CliOptions.Text("--checkpoint-every", "epoch|N",
        "checkpoint at each epoch's end (default), or every N steps and at each epoch's end");
    private readonly Option<int?> _keep = CliOptions.Int("--checkpoint-keep", "K", "checkpoints kept per job (default 2)", min: 1);
    private readonly Option<bool>? _fresh;

    /// <param name="fresh">Whether the command takes --fresh (start over, discarding the job's checkpoints).</param>
    public CheckpointArguments(bool fresh)
    {
        if (fresh) _fresh = CliOptions.Flag("--fresh", "start the job over: discard its checkpoints in the --checkpoint-dir folder");
    }

    public void AddTo(Command command)
    {
        command.Add(_dir);
        command.Add(_every);
        command.Add(_keep);
        if (_fresh is not null) command.Add(_fresh);
    }

    public bool Fresh(ParseResult result) => _fresh is not null && result.GetValue(_fresh);

    /// <summary>The settings, or null without --checkpoint-dir (then the other options are usage errors).</summary>
    public CoordinatorCheckpoints? Read(ParseResult result, bool resumeAllOnStart)
    {
        if (result.GetValue(_dir) is not { } dir)
        {
            if (result.GetValue(_every) is not null) throw new UsageException("--checkpoint-every needs --checkpoint-dir");
            if (result.GetValue(_keep) is not null) throw new UsageException("--checkpoint-keep needs --checkpoint-dir");
            if (Fresh(result)) throw new UsageException("--fresh needs --checkpoint-dir");
            return null;
        }
        if (File.Exists(dir)) throw new JobException($"--checkpoint-dir {dir} is a file; expected a folder (it is created if missing)");
        CheckpointPolicy policy;
        try
        {
            policy = CheckpointPolicy.Parse(result.GetValue(_every));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return new CoordinatorCheckpoints(dir, policy, result.GetValue(_keep) ?? 2, resumeAllOnStart);
    }

    /// <summary>
    /// For train: applies --fresh to the job's checkpoints and says where they are and where the job resumes.
    /// </summary>
    public static void Prepare(CoordinatorCheckpoints options, bool fresh, JobSpec job, Dataset data, TextWriter output)
    {
        var store = options.CreateStore();
        var key = JobKey.Of(job.Name, job.ToJson(), data);
        try
        {
            if (fresh) store.Discard(key);
            var latest = store.Latest(key, w => output.WriteLine($"warning: {w}"));
            output.WriteLine(latest is null
                ? $"checkpoints: {store.JobDirectory(key)}"
                : $"checkpoints: {store.JobDirectory(key)}; resuming at epoch {Math.Min(latest.Cursor.Epoch + 1, job.Epochs)}, batch {latest.Cursor.Batch} (step {latest.Cursor.Step})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobException($"cannot use the checkpoint folder {options.Directory}: {e.Message}");
        }
    }
}
