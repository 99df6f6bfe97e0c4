using System.Diagnostics;
using RnnCluster.Jobs;
using RnnCluster.Protocol;

namespace RnnCluster.Client;

/// <summary>How a followed job ended well: its final weights and the history of its epochs.</summary>
public sealed record FollowedJob(JobFinished Finished, IReadOnlyList<EpochMetrics> History);

/// <summary>
/// Follows a started job to its end for any program that runs one (the CLI's train and submit, a
/// service): every event goes to <c>onEvent</c>, the epochs are collected as the history that
/// metrics.csv and loss.png show, and a failure becomes a <see cref="JobException"/>.
/// </summary>
public static class JobFollower
{
    /// <param name="onEvent">Sees every event in order (progress display); null to ignore them.</param>
    /// <param name="lost">Completes (by throwing) when the connection to the coordinator is lost; null in local mode.</param>
    /// <exception cref="JobException">The job failed, or its events ended without a result.</exception>
    public static async Task<FollowedJob> FollowAsync(JobHandle handle, Action<IJobEvent>? onEvent = null, Task? lost = null)
    {
        var history = new List<EpochMetrics>();
        var epochClock = Stopwatch.StartNew();
        await using var events = handle.Events().GetAsyncEnumerator();
        while (true)
        {
            var next = events.MoveNextAsync().AsTask();
            if (lost is not null && await Task.WhenAny(next, lost) == lost) await lost; // throws: the coordinator is gone
            if (!await next) break;
            var e = events.Current;
            onEvent?.Invoke(e);
            switch (e)
            {
                case EpochCompleted ep:
                    history.Add(new EpochMetrics(ep.Epoch + 1, ep.Loss, ep.ValidationLoss, ep.Metrics.ToDictionary(m => m.Name, m => m.Value),
                        epochClock.Elapsed.TotalSeconds));
                    epochClock.Restart();
                    break;
                case JobFailed f:
                    throw new JobException($"job {f.JobId} failed: {f.Reason}");
                case JobFinished f:
                    return new FollowedJob(f, history);
            }
        }
        throw new JobException("the job's progress stream ended without a result");
    }
}
