using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Jobs;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// The job a command runs: the optional JOB file argument (no JOB: the built-in default job) and,
/// for the commands that train, <c>--seed</c> and <c>--epochs</c> overriding the file's values.
/// </summary>
public sealed class JobArguments
{
    private readonly Argument<string?> _job = new("JOB")
    {
        Description = "job file (JSON, see the README's \"Job files\"); default: the built-in default job (jobs/default.json)",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<int?>? _seed;
    private readonly Option<int?>? _epochs;

    /// <param name="overrides">Whether the command takes --seed and --epochs.</param>
    public JobArguments(bool overrides)
    {
        if (!overrides) return;
        _seed = CliOptions.Int("--seed", "S", "override the job's seed");
        _epochs = CliOptions.Int("--epochs", "E", "override the job's epochs", min: 1);
    }

    public void AddTo(Command command)
    {
        command.Add(_job);
        if (_seed is not null) command.Add(_seed);
        if (_epochs is not null) command.Add(_epochs);
    }

    /// <summary>The JOB file (or the default job) with the overrides applied.</summary>
    public JobSpec Read(ParseResult result)
    {
        var path = result.GetValue(_job);
        var job = path is null ? DefaultJob.Spec : JobSpec.Load(path);
        if (_seed is not null && result.GetValue(_seed) is { } seed) job = job with { Seed = seed };
        if (_epochs is not null && result.GetValue(_epochs) is { } epochs) job = job with { Epochs = epochs };
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
