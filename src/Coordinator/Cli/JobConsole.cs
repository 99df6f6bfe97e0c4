using RnnCluster.Client;
using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// A started job on the console, for the commands that run one (train, submit): progress lines
/// while it runs, then the output folder on success; a failure is a <see cref="JobException"/>.
/// </summary>
public static class JobConsole
{
    /// <param name="lost">Completes (by throwing) when the connection to the coordinator is lost; null in local mode.</param>
    public static async Task<int> FollowAsync(JobHandle handle, JobSpec job, Dataset data, string? outDir, TextWriter output, Task? lost = null)
    {
        var progress = new ConsoleProgress(output, interactive: !Console.IsOutputRedirected, job.Epochs);
        var (finished, history) = await JobFollower.FollowAsync(handle, progress.OnEvent, lost);
        if (outDir is not null)
        {
            JobOutputs.Write(outDir, job.ModelFor(data.X.Shape[2]), finished.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value)), history, job.Name);
            output.WriteLine($"wrote {Path.Combine(outDir, "weights.npz")}, model.json, metrics.csv, loss.png");
        }
        output.WriteLine($"job {finished.JobId} finished: final loss {history.LastOrDefault()?.Loss:0.000000}");
        return 0;
    }
}
