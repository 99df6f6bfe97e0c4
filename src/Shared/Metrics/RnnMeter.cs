using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using RnnCluster.Protocol;

namespace RnnCluster.Metrics;

/// <summary>
/// The product's one <see cref="Meter"/> ("RnnCluster") and its instruments. Label cardinality is
/// bounded: a job label is the job id for the first <see cref="JobLabels.Limit"/> jobs of the
/// process, then "other"; a phase label takes three values. Names follow OpenTelemetry's
/// conventions (dots, units in <c>unit</c>), which the Prometheus exporter turns into
/// <c>rnncluster_step_duration_seconds</c> and so on.
/// </summary>
public static class RnnMeter
{
    public const string Name = "RnnCluster";

    public static readonly Meter Meter = new(Name, "1.0");

    /// <summary>Wall time of a training step at the job actor, from the first shard sent to the weights stepped.</summary>
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("rnncluster.step.duration", "s",
        "training step time at the job actor (dispatch + compute + aggregation)");

    /// <summary>The step's parts: phase=dispatch (cutting and sending shards), compute (until every shard result is in: the workers' math and the transfers), aggregation (summing gradients, optimizer, weight broadcast).</summary>
    public static readonly Histogram<double> StepPhaseDuration = Meter.CreateHistogram<double>("rnncluster.step.phase.duration", "s",
        "training step time by phase; the phases add up to rnncluster.step.duration");

    public static readonly Counter<long> Steps = Meter.CreateCounter<long>("rnncluster.steps", "{step}", "training steps completed");

    public static readonly Counter<long> Samples = Meter.CreateCounter<long>("rnncluster.samples", "{sample}", "training rows processed");

    /// <summary>Shard payload bytes: direction=out (inputs, targets and states sent to workers), in (gradients and final states received).</summary>
    public static readonly Counter<long> ShardBytes = Meter.CreateCounter<long>("rnncluster.shard.bytes", "By",
        "tensor bytes of training shards and their results, by direction");

    /// <summary>Loss of the latest step, per job (recorded from the progress events).</summary>
    public static readonly Gauge<double> Loss = Meter.CreateGauge<double>("rnncluster.loss", null, "training loss of the latest step");

    /// <summary>Validation loss of the latest epoch, per job.</summary>
    public static readonly Gauge<double> ValidationLoss = Meter.CreateGauge<double>("rnncluster.validation.loss", null, "validation loss of the latest epoch");

    /// <summary>Rows per second over the latest steps, per job.</summary>
    public static readonly Gauge<double> Throughput = Meter.CreateGauge<double>("rnncluster.throughput", "{sample}/s", "training rows per second over the latest steps");

    /// <summary>Jobs the coordinator knows, by state (waiting_for_workers is the queue of jobs waiting for workers).</summary>
    public static readonly Gauge<long> Jobs = Meter.CreateGauge<long>("rnncluster.jobs", "{job}", "jobs by state");

    /// <summary>Live workers as the coordinator counts them.</summary>
    public static readonly Gauge<long> Workers = Meter.CreateGauge<long>("rnncluster.workers", "{worker}", "live worker actors");

    static RnnMeter()
    {
        Meter.CreateObservableCounter("rnncluster.gc.pause", () => GC.GetTotalPauseDuration().TotalSeconds, "s",
            "total time the process was paused for garbage collection");
        Meter.CreateObservableCounter("rnncluster.gc.collections", () => new[]
        {
            new Measurement<long>(GC.CollectionCount(0), new KeyValuePair<string, object?>("generation", "0")),
            new Measurement<long>(GC.CollectionCount(1), new KeyValuePair<string, object?>("generation", "1")),
            new Measurement<long>(GC.CollectionCount(2), new KeyValuePair<string, object?>("generation", "2")),
        }, "{collection}", "garbage collections by generation");
    }

    public static KeyValuePair<string, object?> Job(string jobId) => new("job", JobLabels.For(jobId));
}

/// <summary>Job ids as label values, at most <see cref="Limit"/> of them per process: later jobs share "other".</summary>
public static class JobLabels
{
    public const int Limit = 64;
    public const string Other = "other";
    private static readonly ConcurrentDictionary<string, string> Known = new();

    public static string For(string jobId)
    {
        if (Known.TryGetValue(jobId, out var label)) return label;
        return Known.Count >= Limit ? Other : Known.GetOrAdd(jobId, jobId);
    }
}

/// <summary>
/// One job's step clock, kept by its job actor (one thread): <see cref="Dispatching"/> when shards
/// go out (again, when a worker left mid-step: the step's time runs on), <see cref="Dispatched"/>
/// when the last is sent, <see cref="ResultsIn"/> when the last result arrived, <see cref="Applied"/>
/// when the weights are stepped. The three phases it records add up to the step time.
/// </summary>
public sealed class StepClock(string jobId)
{
    private readonly KeyValuePair<string, object?> _job = RnnMeter.Job(jobId);
    private long _start, _dispatched, _resultsIn;

    public void Dispatching()
    {
        if (_start == 0) _start = Stopwatch.GetTimestamp();
    }

    /// <summary>Counts a block's bytes going out (its row indices and initial states); returns it, to be sent.</summary>
    public ComputeBlock Sent(ComputeBlock block)
    {
        long bytes = (long)block.Rows.Count * sizeof(int) + block.InitialStates.Sum(s => (long)s.Length) * sizeof(float);
        RnnMeter.ShardBytes.Add(bytes, _job, new("direction", "out"));
        _dispatched = Stopwatch.GetTimestamp();
        return block;
    }

    public void ResultsIn(IReadOnlyList<ShardResult> results)
    {
        _resultsIn = Stopwatch.GetTimestamp();
        long floats = results.Sum(r => r.GradientSum.Length + r.FinalStates.Sum(s => (long)s.Length));
        RnnMeter.ShardBytes.Add(floats * sizeof(float), _job, new("direction", "in"));
    }

    public void Applied(int rows)
    {
        if (_start == 0) return;
        long end = Stopwatch.GetTimestamp();
        long dispatched = Math.Max(_dispatched, _start), resultsIn = Math.Max(_resultsIn, dispatched);
        RnnMeter.StepPhaseDuration.Record(Seconds(_start, dispatched), _job, new("phase", "dispatch"));
        RnnMeter.StepPhaseDuration.Record(Seconds(dispatched, resultsIn), _job, new("phase", "compute"));
        RnnMeter.StepPhaseDuration.Record(Seconds(resultsIn, end), _job, new("phase", "aggregation"));
        RnnMeter.StepDuration.Record(Seconds(_start, end), _job);
        RnnMeter.Steps.Add(1, _job);
        RnnMeter.Samples.Add(rows, _job);
        _start = 0;
    }

    private static double Seconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalSeconds;
}
