using System.Threading.Channels;
using Akka.Actor;
using Akka.TestKit;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Worker;
using Xunit;

namespace RnnCluster.Tests.Actors;

/// <summary>Small jobs, row-indexed data and tensor checks shared by the actor and local-mode tests.</summary>
internal static class ActorTestSupport
{
    /// <summary>Upper bound for every expected message (a loaded 2-core machine).</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>How long "nothing else arrives" is watched for.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// SimpleRNN(2) -> Dense(1), mse, plain SGD with learning rate 1 (so new weights = old - mean
    /// gradient, exactly), batch 8, no shuffling, no validation; the data spec is never read (the
    /// data travels with the job).
    /// </summary>
    public static JobSpec SmallJob(string name = "probe-job") => new()
    {
        Name = name,
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 2 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        Loss = "mse",
        Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 1f },
        Data = new DataSpec(),
        BatchSize = 8,
        Epochs = 3,
        Shuffle = false,
        Seed = 5,
    };

    /// <summary>
    /// A stateful job with three state slots over two recurrent layers: LSTM(2, sequences) gives
    /// layer 0's h and c (2 units each), SimpleRNN(3) gives layer 1's h (3 units); then Dense(1).
    /// </summary>
    public static JobSpec StatefulJob(int batch = 6, StateReset reset = StateReset.Never, int epochs = 3) => SmallJob("stateful-probe-job") with
    {
        Model = new JobModel
        {
            Layers =
            [
                new LayerSpec { Kind = LayerKinds.Lstm, Units = 2, ReturnSequences = true },
                new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = 3 },
                new LayerSpec { Kind = LayerKinds.Dense, Units = 1 },
            ],
        },
        BatchSize = batch,
        Epochs = epochs,
        Shuffle = false,
        States = new StatePolicy { Policy = StatePolicyKind.Stateful, Reset = reset },
    };

    /// <summary>Units of the stateful job's state slots, in slot order.</summary>
    public static readonly int[] StatefulSlots = [2, 2, 3];

    /// <summary>
    /// Data whose every value names its place: x[i, t, f] = i + t/10 + f/100, y[i, o] = 1000 + i + o/10,
    /// initial state k: s[i, u] = 100 (k + 1) + i + u/10. A shard's rows can be read off its values.
    /// </summary>
    public static Dataset IndexedData(int rows, int timesteps, int features, int outputs, IReadOnlyList<int> stateUnits)
    {
        var x = new float[rows * timesteps * features];
        for (int i = 0; i < rows; i++)
            for (int t = 0; t < timesteps; t++)
                for (int f = 0; f < features; f++)
                    x[(i * timesteps + t) * features + f] = i + t / 10f + f / 100f;
        var y = new float[rows * outputs];
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < outputs; o++)
                y[i * outputs + o] = 1000 + i + o / 10f;
        var states = stateUnits.Select((units, k) =>
        {
            var s = new float[rows * units];
            for (int i = 0; i < rows; i++)
                for (int u = 0; u < units; u++)
                    s[i * units + u] = 100 * (k + 1) + i + u / 10f;
            return new Tensor(s, rows, units);
        }).ToList();
        return new Dataset(new Tensor(x, rows, timesteps, features), new Tensor(y, rows, outputs), states, $"indexed: {rows} rows");
    }

    /// <summary>A state value that names (global row, slot, unit) and the step that produced it.</summary>
    public static float StateValue(long step, int row, int slot, int unit) => 1 + step * 1000 + row * 10 + slot + unit / 10f;

    /// <summary>Final states a fake worker returns for a shard's rows (see <see cref="StateValue"/>).</summary>
    public static Tensor[] FinalStates(Shard shard, IReadOnlyList<int> slots)
    {
        int rows = shard.X.Shape[0];
        return [.. slots.Select((units, k) =>
        {
            var s = new float[rows * units];
            for (int i = 0; i < rows; i++)
                for (int u = 0; u < units; u++)
                    s[i * units + u] = StateValue(shard.Step, shard.RowStart + i, k, u);
            return new Tensor(s, rows, units);
        })];
    }

    public static Tensor Gather(Tensor source, ReadOnlySpan<int> rows)
    {
        var target = Rows.Empty(source, rows.Length);
        Rows.Gather(source, rows, target);
        return target;
    }

    public static Network NetworkOf(JobSpec job, int features) => new(job.ModelFor(features), new ManagedKernels());

    /// <summary>The flat parameter vector of weights given by name (the network's layout).</summary>
    public static float[] Flat(Network network, IReadOnlyList<NamedTensor> weights)
    {
        return NamedWeights.ToFlat(network, weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value)));
    }

    public static void AssertTensor(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.ShapeEquals(actual.Shape), $"{what}: shape {Tensor.FormatShape(actual.Shape)}, expected {Tensor.FormatShape(expected.Shape)}");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected.Data[i]) != BitConverter.SingleToInt32Bits(actual.Data[i]))
                Assert.Fail($"{what}: value {i} is {actual.Data[i]:R}, expected {expected.Data[i]:R}");
    }

    public static void AssertBitIdentical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: value {i} is {actual[i]:R}, expected {expected[i]:R}");
    }

    /// <summary>
    /// max_i |a_i - b_i| / max(max_i |b_i|, 1e-3), per weight tensor, the largest over all
    /// tensors: differences relative to the tensor's scale (summation order moves the last bits
    /// of a value near zero by more than its own magnitude would suggest).
    /// </summary>
    public static double MaxRelativeDifference(IReadOnlyList<KeyValuePair<string, Tensor>> a, IReadOnlyList<KeyValuePair<string, Tensor>> b)
    {
        Assert.Equal(b.Select(p => p.Key), a.Select(p => p.Key));
        double worst = 0;
        for (int w = 0; w < a.Count; w++)
        {
            var (x, y) = (a[w].Value, b[w].Value);
            Assert.True(x.ShapeEquals(y.Shape), $"{a[w].Key}: shapes differ");
            double scale = Math.Max(1e-3, y.Data.Max(v => Math.Abs((double)v)));
            double diff = 0;
            for (int i = 0; i < x.Length; i++) diff = Math.Max(diff, Math.Abs((double)x.Data[i] - y.Data[i]));
            worst = Math.Max(worst, diff / scale);
        }
        return worst;
    }

    public static IReadOnlyList<KeyValuePair<string, Tensor>> Pairs(IReadOnlyList<NamedTensor> weights) =>
        [.. weights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value))];
}

/// <summary>
/// A block as the tests look at it: the <see cref="ComputeBlock"/> and the inputs its rows name in
/// the job's data set (which the fake node got the way a real one does: <see cref="NeedJobData"/>).
/// </summary>
internal sealed record Shard(ComputeBlock Block, Tensor X, Tensor Y)
{
    public string JobId => Block.JobId;
    public long Step => Block.Step;
    public long ShardId => Block.ShardId;
    public int RowStart => Block.RowStart;
    public long WeightsVersion => Block.WeightsVersion;
    public IReadOnlyList<Tensor> InitialStates => Block.InitialStates;
}

/// <summary>A TestProbe standing in for a node with one worker: expects the job's messages and answers with hand-made results.</summary>
internal sealed class FakeWorker(TestProbe probe, string name)
{
    public TestProbe Probe { get; } = probe;
    public string Name { get; } = name;
    public IActorRef Ref => Probe.Ref;

    /// <summary>The job actor that sent the last block or replica this worker received.</summary>
    public IActorRef Job { get; private set; } = ActorRefs.Nobody;

    /// <summary>The job's data set, as the job sent it on request.</summary>
    public JobData? Data { get; private set; }

    /// <summary>The replica and the weights; then asks for the job's data, as a node that does not hold it does, and checks what comes.</summary>
    public (LoadReplica Load, ReplicaWeights Weights) ExpectReplica(string? jobId = null)
    {
        var load = Probe.ExpectMsg<LoadReplica>(ActorTestSupport.Wait);
        var weights = Probe.ExpectMsg<ReplicaWeights>(ActorTestSupport.Wait);
        Job = Probe.LastSender;
        if (jobId is not null)
        {
            Assert.Equal(jobId, load.JobId);
            Assert.Equal(jobId, weights.JobId);
        }
        _dataHash = load.DataHash;
        Job.Tell(new NeedJobData(load.JobId, load.DataHash), Ref);
        return (load, weights);
    }

    private string? _dataHash;

    /// <summary>The next message, of type <typeparamref name="T"/>; the job's data (which may come any time after the replica) is taken on the way.</summary>
    private T Expect<T>()
    {
        var m = Probe.ReceiveOne(ActorTestSupport.Wait);
        if (m is JobData data)
        {
            TakeData(data);
            m = Probe.ReceiveOne(ActorTestSupport.Wait);
        }
        // The first block can overtake the data: the job sends the data when asked, after the block was on its way.
        if (m is ComputeBlock && Data is null && _dataHash is not null) TakeData(Probe.ExpectMsg<JobData>(ActorTestSupport.Wait));
        return m is T t ? t : throw new Xunit.Sdk.XunitException($"{Name}: expected a {typeof(T).Name}, got {m?.GetType().Name ?? "nothing"}: {m}");
    }

    private void TakeData(JobData data)
    {
        Assert.Equal(_dataHash, data.DataHash);
        Assert.Equal(data.DataHash, DatasetHash.Of(data.X, data.Y, data.InitialStates));
        Data = data;
    }

    public ReplicaWeights ExpectWeights(long version)
    {
        var w = Expect<ReplicaWeights>();
        Assert.Equal(version, w.Version);
        return w;
    }

    public Shard ExpectShard(long step)
    {
        var b = Expect<ComputeBlock>();
        Job = Probe.LastSender;
        Assert.Equal(step, b.Step);
        Assert.True(Data is not null, $"{Name} got a block before the job's data");
        Assert.Equal([b.Rows.Count], b.ShardSizes);
        int[] rows = [.. b.Rows];
        return new Shard(b, ActorTestSupport.Gather(Data!.X, rows), ActorTestSupport.Gather(Data.Y, rows));
    }

    /// <summary>Answers a block; the row count is the block's unless given.</summary>
    public void Reply(IActorRef job, Shard shard, float[] gradient, double lossSum = 1, IReadOnlyList<Tensor>? finals = null, int? rows = null, string? jobId = null, long? step = null, long? shardId = null) =>
        job.Tell(new ShardResult(jobId ?? shard.JobId, step ?? shard.Step, shardId ?? shard.ShardId, rows ?? shard.X.Shape[0], lossSum,
            new Tensor(gradient, gradient.Length), finals ?? []), Ref);

    /// <summary>Nothing but (perhaps) the job's data arrives for a while.</summary>
    public void ExpectNoShard()
    {
        var m = Probe.ReceiveOne(ActorTestSupport.Quiet);
        if (m is JobData data)
        {
            TakeData(data);
            m = Probe.ReceiveOne(ActorTestSupport.Quiet);
        }
        if (m is not null) throw new Xunit.Sdk.XunitException($"{Name}: expected no message, got {m}");
    }

    /// <summary>An ended job releases its replica on this worker.</summary>
    public void ExpectDropReplica(string jobId) => Assert.Equal(jobId, Probe.ExpectMsg<DropReplica>(ActorTestSupport.Wait).JobId);
}

/// <summary>An actor of a system without a TestKit (local mode) that hands every job event to a channel.</summary>
internal sealed class EventSink : ReceiveActor
{
    public EventSink(ChannelWriter<IJobEvent> writer) => Receive<IJobEvent>(e => writer.TryWrite(e));
}

internal static class EventSinks
{
    public static (IActorRef Ref, ChannelReader<IJobEvent> Events) Start(ActorSystem system)
    {
        var channel = Channel.CreateUnbounded<IJobEvent>();
        var actor = system.ActorOf(Props.Create(() => new EventSink(channel.Writer)));
        return (actor, channel.Reader);
    }

    /// <summary>Reads events until the job ends (<see cref="JobFinished"/> or <see cref="JobFailed"/>), with a deadline.</summary>
    public static async Task<List<IJobEvent>> UntilEnd(ChannelReader<IJobEvent> events, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var list = new List<IJobEvent>();
        while (true)
        {
            var e = await events.ReadAsync(cancel.Token);
            list.Add(e);
            if (e is JobFinished or JobFailed) return list;
        }
    }
}
