using System.Collections.Concurrent;
using System.Diagnostics;
using RnnCluster.Client;
using RnnCluster.Metrics;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Http;

/// <summary>
/// Follows every job the coordinator knows (a poll of its job list once a second; jobs submitted
/// over HTTP from their first step) through the client facade's progress events, and keeps what
/// the dashboard draws: per-step loss and rows, per-epoch losses, throughput. It also records the
/// event-derived metrics (loss, validation loss, throughput, jobs by state). Bounded: at most
/// <see cref="MaxJobs"/> jobs (the oldest finished are forgotten), and per job at most
/// <see cref="MaxPoints"/> step points (then every other one is dropped and later steps are
/// sampled at twice the stride).
/// </summary>
public sealed class JobTracker : IAsyncDisposable
{
    public const int MaxJobs = 64;
    public const int MaxPoints = 4000;

    private readonly RnnClusterClient _client;
    private readonly ConcurrentDictionary<string, TrackedJob> _jobs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _poll;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public JobTracker(RnnClusterClient client, TimeSpan pollEvery)
    {
        _client = client;
        _poll = Task.Run(() => PollAsync(pollEvery));
    }

    public ClusterStatus? LastStatus { get; private set; }

    public TrackedJob? Find(string jobId) => _jobs.TryGetValue(jobId, out var j) ? j : null;

    /// <summary>Follows a job started here with its handle (from its first step).</summary>
    public void Follow(JobHandle handle)
    {
        var job = Add(handle.JobId);
        if (job is null) { handle.Dispose(); return; }
        _ = Task.Run(async () =>
        {
            using (handle) await ConsumeAsync(job, handle.Events(_stop.Token));
        });
    }

    private TrackedJob? Add(string jobId)
    {
        var job = new TrackedJob(jobId, _clock);
        if (!_jobs.TryAdd(jobId, job)) return null;
        if (_jobs.Count > MaxJobs)
            foreach (var old in _jobs.Values.Where(j => j.Ended).OrderBy(j => j.Added).Take(_jobs.Count - MaxJobs))
                _jobs.TryRemove(old.JobId, out _);
        return job;
    }

    private async Task PollAsync(TimeSpan every)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var status = await _client.GetClusterStatusAsync(_stop.Token);
                LastStatus = status;
                RnnMeter.Workers.Record(status.Workers);
                foreach (var id in status.Jobs)
                    if (Add(id) is { } job) _ = Task.Run(() => ConsumeAsync(job, _client.WatchAsync(id, _stop.Token)));
                foreach (var group in _jobs.Values.GroupBy(j => j.State))
                    RnnMeter.Jobs.Record(group.Count(), new KeyValuePair<string, object?>("state", group.Key));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { return; }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The coordinator is busy, moving or shutting down: the next poll tries again (or the loop is stopped).
            }
            try { await Task.Delay(every, _stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static async Task ConsumeAsync(TrackedJob job, IAsyncEnumerable<IJobEvent> events)
    {
        try
        {
            await foreach (var e in events) job.On(e);
        }
        catch (OperationCanceledException) { }
        catch (RnnClusterException e) { job.On(new JobFailed(job.JobId, "not followed: " + e.Message)); }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _poll; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

/// <summary>One followed job: its points, safe to read from request threads while events arrive.</summary>
public sealed class TrackedJob(string jobId, Stopwatch clock)
{
    private readonly Lock _lock = new();
    private readonly List<StepPoint> _steps = [];
    private readonly List<EpochPoint> _epochs = [];
    private readonly KeyValuePair<string, object?> _label = RnnMeter.Job(jobId);
    private long _sequence, _globalStep;
    private int _stride = 1;
    private double _windowStart = -1;
    private long _windowRows;

    public string JobId { get; } = jobId;
    public DateTime Added { get; } = DateTime.UtcNow;
    public string State { get; private set; } = "running";
    public bool Ended { get; private set; }
    public string? Error { get; private set; }
    public double? Throughput { get; private set; }
    public long? FinalWeightsVersion { get; private set; }

    public void On(IJobEvent e)
    {
        double now = clock.Elapsed.TotalSeconds;
        lock (_lock)
        {
            switch (e)
            {
                case StepCompleted s:
                    _globalStep++;
                    if (_windowStart < 0) _windowStart = now;
                    else
                    {
                        _windowRows += s.Rows;
                        if (now - _windowStart >= 1.0)
                        {
                            Throughput = _windowRows / (now - _windowStart);
                            RnnMeter.Throughput.Record(Throughput.Value, _label);
                            _windowStart = now;
                            _windowRows = 0;
                        }
                    }
                    if (double.IsFinite(s.Loss)) RnnMeter.Loss.Record(s.Loss, _label);
                    if (_globalStep % _stride != 0) break;
                    _steps.Add(new StepPoint(++_sequence, _globalStep, s.Epoch, s.Step, ApiJson.Finite(s.Loss), s.Rows, s.Workers, Math.Round(now, 3)));
                    if (_steps.Count >= JobTracker.MaxPoints)
                    {
                        for (int i = _steps.Count - 1; i >= 0; i -= 2) _steps.RemoveAt(i);
                        _stride *= 2;
                    }
                    break;
                case EpochCompleted c:
                    _epochs.Add(new EpochPoint(c.Epoch, c.Epochs, ApiJson.Finite(c.Loss), c.ValidationLoss is { } v ? ApiJson.Finite(v) : null));
                    if (c.ValidationLoss is { } val && double.IsFinite(val)) RnnMeter.ValidationLoss.Record(val, _label);
                    break;
                case JobFinished f:
                    State = "finished";
                    Ended = true;
                    FinalWeightsVersion = f.WeightsVersion;
                    break;
                case JobFailed f:
                    State = f.Reason.Contains("stopped", StringComparison.Ordinal) ? "stopped" : "failed";
                    Ended = true;
                    Error = f.Reason;
                    break;
            }
        }
    }

    /// <summary>The step points recorded after <paramref name="since"/> (a sequence number; 0: all), and every epoch.</summary>
    public JobHistory History(long since)
    {
        lock (_lock)
            return new JobHistory(JobId, State, Error, Throughput, _sequence, _globalStep,
                [.. _steps.Where(p => p.Seq > since)], [.. _epochs]);
    }
}

public sealed record StepPoint(long Seq, long GlobalStep, int Epoch, int Step, double? Loss, int Rows, int Workers, double T);

public sealed record EpochPoint(int Epoch, int Epochs, double? Loss, double? ValLoss);

public sealed record JobHistory(string JobId, string State, string? Error, double? Throughput, long LastSeq, long Steps,
    IReadOnlyList<StepPoint> Points, IReadOnlyList<EpochPoint> Epochs);
