using RnnCluster.Checkpoints;
using RnnCluster.Jobs;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// A coordinator's checkpoint settings: the folder (local disk, or a volume every coordinator node
/// mounts), how often jobs write (<see cref="CheckpointPolicy"/>), how many checkpoints each job
/// keeps, and whether the coordinator resumes every unfinished job in the folder when it starts
/// (<c>rnncluster coordinator</c>) or only the jobs clients start again (<c>rnncluster train</c>).
/// </summary>
public sealed record CoordinatorCheckpoints(string Directory, CheckpointPolicy Policy, int Keep = 2, bool ResumeAllOnStart = false)
{
    public CheckpointStore CreateStore() => new(Directory, Keep);
}

/// <summary>A job found in the checkpoint folder that a starting coordinator takes up again.</summary>
public sealed record ResumableJob(JobSpec Job, Dataset Data, JobCheckpointing Checkpointing);

/// <summary>What a coordinator finds in its checkpoint folder: pure file reading, no actors.</summary>
public static class CheckpointScan
{
    /// <summary>
    /// Every job in the store whose newest readable checkpoint is unfinished and that was not
    /// failed or stopped, with its stored data. A job that cannot be read is reported and passed over.
    /// </summary>
    public static IReadOnlyList<ResumableJob> Unfinished(CheckpointStore store, CheckpointPolicy policy, Action<string> warn)
    {
        var jobs = new List<ResumableJob>();
        foreach (var key in store.JobKeys())
        {
            if (store.IsEnded(key)) continue;
            var snapshot = store.Latest(key, warn);
            if (snapshot is null || snapshot.Finished) continue;
            try
            {
                var data = store.ReadData(key);
                var job = JobSpec.FromJson(snapshot.JobJson, $"{store.JobDirectory(key)} job.json");
                jobs.Add(new ResumableJob(job, data, new JobCheckpointing(store, policy, key, JobKey.DataHash(data), snapshot)));
            }
            catch (Exception e) when (e is CorruptCheckpointException or JobException)
            {
                warn($"job {key} in the checkpoint folder cannot be resumed: {e.Message}");
            }
        }
        return jobs;
    }
}
