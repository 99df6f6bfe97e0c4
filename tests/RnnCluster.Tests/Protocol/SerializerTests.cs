using System.Collections;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Dispatch;
using Akka.TestKit.Xunit2;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace RnnCluster.Tests.Protocol;

/// <summary>
/// <see cref="ProtocolSerializer"/>: first that Akka picks it for every protocol message (not the
/// Newtonsoft JSON fallback), then that every message round-trips exactly, edge values included.
/// </summary>
public sealed partial class SerializerTests : TestKit
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private const string Unicode = "Grüße, 世界 🌍 ∂h/∂t — \u0000 end";

    private readonly ITestOutputHelper _output;

    public SerializerTests(ITestOutputHelper output) : base(AkkaConfig.ForTests(), nameof(SerializerTests), output)
    {
        _output = output;
    }

    // ---------- which serializer ----------

    private static Type[] MessageTypes() =>
        typeof(IProtocolMessage).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IProtocolMessage).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();

    public static TheoryData<string> MessageTypeNames()
    {
        var data = new TheoryData<string>();
        foreach (var type in MessageTypes()) data.Add(type.FullName!);
        return data;
    }

    private static Type TypeNamed(string fullName) => typeof(IProtocolMessage).Assembly.GetType(fullName, throwOnError: true)!;

    [Fact]
    public void Reflection_finds_the_protocol_messages()
    {
        var types = MessageTypes();
        Assert.Contains(typeof(StartJob), types);
        Assert.Contains(typeof(EpochCompleted), types); // through IJobEvent
        Assert.Contains(typeof(PredictOnReplica), types);
        Assert.DoesNotContain(typeof(NamedTensor), types);
    }

    [Theory]
    [MemberData(nameof(MessageTypeNames))]
    public void Akka_picks_the_protocol_serializer(string typeName)
    {
        var serializer = Sys.Serialization.FindSerializerForType(TypeNamed(typeName));

        Assert.IsType<ProtocolSerializer>(serializer);
        Assert.Equal(ProtocolSerializer.Id, serializer.Identifier);
    }

    [Fact]
    public void The_codec_table_covers_exactly_the_protocol_messages()
    {
        var missing = MessageTypes().Except(ProtocolSerializer.MessageTypes).Select(t => t.Name).ToArray();
        var extra = ProtocolSerializer.MessageTypes.Except(MessageTypes()).Select(t => t.Name).ToArray();

        Assert.True(missing.Length == 0, "no encoding for: " + string.Join(", ", missing));
        Assert.True(extra.Length == 0, "encodings for non-protocol types: " + string.Join(", ", extra));
    }

    [Fact]
    public void Manifests_are_short_stable_and_unique()
    {
        var serializer = ProtocolSerializerOf(Sys);
        var manifests = Samples().Select(kv => serializer.Manifest(kv.Value[0])).ToArray();

        Assert.Equal(manifests.Length, manifests.Distinct(StringComparer.Ordinal).Count());
        Assert.All(manifests, m => Assert.Matches("^[A-Za-z]{1,32}@[0-9]+$", m));
        Assert.Equal("StartJob@1", serializer.Manifest(Samples()[typeof(StartJob)][0]));
        Assert.Equal("ShardResult@1", serializer.Manifest(Samples()[typeof(ShardResult)][0]));
    }

    // ---------- round trips ----------

    [Theory]
    [MemberData(nameof(MessageTypeNames))]
    public void Every_message_round_trips_exactly(string typeName)
    {
        var type = TypeNamed(typeName);
        Assert.True(Samples().TryGetValue(type, out var samples), $"no sample instance of {type.Name}: add one to Samples()");
        Assert.NotEmpty(samples);

        var singleton = type.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);
        foreach (var message in samples)
        {
            var copy = RoundTrip(message);

            if (singleton is not null)
                Assert.Same(singleton, copy); // empty messages stay singletons
            else
                Assert.NotSame(message, copy);
            AssertSameValue(message, copy, type.Name);
        }
    }

    [Fact]
    public void Every_sample_is_of_its_key_type()
    {
        foreach (var (type, samples) in Samples())
            Assert.All(samples, m => Assert.Equal(type, m.GetType()));
    }

    [Fact]
    public void A_message_written_into_a_longer_reused_buffer_reads_back_from_its_length()
    {
        var serializer = Assert.IsType<ProtocolSerializer>(Sys.Serialization.FindSerializerForType(typeof(ShardResult)));
        var message = new ShardResult("job", 4, 9, 3, 1.5, new Tensor([1f, -0f, float.NaN, 7f], 2, 2), [new Tensor([2f], 1)]);
        var exact = serializer.ToBinary(message);
        // A stale buffer longer than the message, as the transfer layer reuses them: the tail is someone else's bytes.
        var reused = Enumerable.Repeat((byte)0xAB, exact.Length + 100).ToArray();

        var buffer = serializer.ToBinary(message, size => { Assert.Equal(exact.Length, size); return reused; }, out int length);
        var back = Assert.IsType<ShardResult>(serializer.FromBinary(buffer, length, "ShardResult@1"));

        Assert.Same(reused, buffer);
        Assert.Equal(exact.Length, length);
        Assert.Equal(exact, reused.AsSpan(0, length).ToArray());
        Assert.Equal(message.GradientSum.Data, back.GradientSum.Data);
        // The message does not keep the buffer: writing it again leaves the tensors as they were.
        Array.Fill(reused, (byte)0);
        Assert.Equal(7f, back.GradientSum.Data[3]);
        Assert.Throws<ArgumentException>(() => serializer.ToBinary(message, size => new byte[size - 1], out _));
    }

    [Fact]
    public void A_chunk_read_from_its_own_array_is_a_view_and_from_a_reused_buffer_a_copy()
    {
        var serializer = Assert.IsType<ProtocolSerializer>(Sys.Serialization.FindSerializerForType(typeof(TransferChunk)));
        var bytes = serializer.ToBinary(new TransferChunk(1, 0, 1, 3, "t", "", "m", new byte[] { 1, 2, 3 }));

        var view = Assert.IsType<TransferChunk>(serializer.FromBinary(bytes, "TransferChunk@1"));
        var copy = Assert.IsType<TransferChunk>(serializer.FromBinary(bytes, bytes.Length, "TransferChunk@1"));
        bytes[^1] = 9; // the last data byte

        Assert.Equal(new byte[] { 1, 2, 9 }, view.Data.ToArray());
        Assert.Equal(new byte[] { 1, 2, 3 }, copy.Data.ToArray());
    }

    [Fact]
    public void Null_and_empty_lists_stay_distinct()
    {
        var nulls = (ResetStates)RoundTrip(new ResetStates("job", null, null, null));
        var empties = (ResetStates)RoundTrip(new ResetStates("job", 0, [], []));

        Assert.Null(nulls.Layer);
        Assert.Null(nulls.Rows);
        Assert.Null(nulls.Values);
        Assert.Equal(0, empties.Layer);
        Assert.NotNull(empties.Rows);
        Assert.Empty(empties.Rows);
        Assert.NotNull(empties.Values);
        Assert.Empty(empties.Values);
    }

    [Fact]
    public void Special_floats_keep_their_bits()
    {
        var sent = new ReplicaWeights("job", 1, SpecialTensor());
        var copy = (ReplicaWeights)RoundTrip(sent);

        Assert.Equal(
            sent.Parameters.Data.Select(BitConverter.SingleToInt32Bits),
            copy.Parameters.Data.Select(BitConverter.SingleToInt32Bits));
        Assert.True(float.IsNegative(copy.Parameters.Data[3]) && copy.Parameters.Data[3] == 0f, "-0 lost its sign");
    }

    [Fact]
    public void Actor_refs_resolve_to_the_same_actor()
    {
        var copy = (SubscribeToJob)RoundTrip(new SubscribeToJob("job", TestActor));

        Assert.Equal(TestActor, copy.Subscriber);
        copy.Subscriber.Tell(new Subscribed("job"));
        ExpectMsg<Subscribed>(m => m.JobId == "job", Timeout);
    }

    [Fact]
    public void The_comparison_is_not_vacuous()
    {
        Assert.ThrowsAny<XunitException>(() =>
            AssertSameValue(new Tensor([0f], 1), new Tensor([-0f], 1), "t"));
        Assert.ThrowsAny<XunitException>(() =>
            AssertSameValue(new Tensor([0f, 0f], 2), new Tensor([0f, 0f], 1, 2), "t"));
        Assert.ThrowsAny<XunitException>(() =>
            AssertSameValue(new ResetStates("j", null, null, null), new ResetStates("j", null, [], null), "r"));
        Assert.ThrowsAny<XunitException>(() =>
            AssertSameValue(new JobStatus("j", JobState.Running, 0, 0, 0, 0, 0.0, null), new JobStatus("j", JobState.Running, 0, 0, 0, 0, -0.0, null), "s"));
        Assert.ThrowsAny<XunitException>(() =>
            AssertSameValue(new JobFailed("j", "é"), new JobFailed("j", "e\u0301"), "f"));
    }

    // ---------- failures ----------

    [Fact]
    public void Unknown_manifest_throws_naming_it()
    {
        var serializer = ProtocolSerializerOf(Sys);

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary([1, 2, 3], "NoSuchMessage"));
        Assert.Contains("NoSuchMessage", e.Message);

        var viaAkka = Assert.ThrowsAny<Exception>(() => Sys.Serialization.Deserialize([1, 2, 3], ProtocolSerializer.Id, "NoSuchMessage"));
        Assert.Contains("NoSuchMessage", viaAkka.ToString());
    }

    [Fact]
    public void A_type_without_an_encoding_throws()
    {
        var serializer = ProtocolSerializerOf(Sys);

        Assert.Throws<SerializationException>(() => serializer.Manifest(new NotAProtocolMessage(1)));
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new NotAProtocolMessage(1)));
    }

    [Fact]
    public void Truncated_or_padded_bytes_throw()
    {
        var serializer = ProtocolSerializerOf(Sys);
        var message = new JobData("job-" + Unicode, "sha256:1", CubeTensor(), SpecialTensor(), [EmptyTensor()]);
        var bytes = serializer.ToBinary(message);
        var manifest = serializer.Manifest(message);

        for (var length = 0; length < bytes.Length; length++)
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            Assert.Throws<SerializationException>(() => serializer.FromBinary(cut, manifest));
        }
        Assert.Throws<SerializationException>(() => serializer.FromBinary([.. bytes, 0], manifest));
    }

    [Fact]
    public void A_tensor_header_larger_than_the_message_throws_without_allocating_it()
    {
        var serializer = ProtocolSerializerOf(Sys);
        var bytes = serializer.ToBinary(new ReplicaWeights("j", 1, new Tensor([1f, 2f], 2)));
        // layout: string "j" (2 bytes), long version (8), rank (4), dim (4), data
        BitConverter.TryWriteBytes(bytes.AsSpan(14, 4), int.MaxValue);

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "ReplicaWeights@1"));
        Assert.Contains("longer than the message", e.Message);
    }

    // ---------- size and speed ----------

    [Fact]
    public void A_ten_million_float_tensor_round_trips()
    {
        const int n = 10_000_000;
        var data = new float[n];
        for (var i = 0; i < n; i++) data[i] = i * 0.37f - 1e6f;
        data[0] = float.NaN;
        data[1] = -0f;
        data[2] = float.NegativeInfinity;
        data[n - 1] = float.PositiveInfinity;
        var message = new ReplicaWeights("big", 7, new Tensor(data, 1000, 10_000));
        var serializer = ProtocolSerializerOf(Sys);
        var manifest = serializer.Manifest(message);

        // Fresh large arrays cost the OS handing out fresh pages, hundreds of ms on a loaded
        // machine: print a plain allocate-and-copy of the same size to read the numbers against.
        var baseline = Stopwatch.StartNew();
        var plain = GC.AllocateUninitializedArray<byte>(4 * n);
        MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(plain);
        _output.WriteLine($"baseline: allocate and copy {plain.Length / 1e6:F1} MB: {baseline.Elapsed.TotalMilliseconds:F1} ms");
        plain = null;

        byte[] bytes = [];
        ReplicaWeights copy = message;
        foreach (var pass in new[] { "cold", "warm" })
        {
            var clock = Stopwatch.StartNew();
            bytes = serializer.ToBinary(message);
            var written = clock.Elapsed;
            clock.Restart();
            copy = (ReplicaWeights)serializer.FromBinary(bytes, manifest);
            var read = clock.Elapsed;
            _output.WriteLine($"{pass}: {n:N0} floats, {bytes.Length / 1e6:F1} MB: write {written.TotalMilliseconds:F1} ms, read {read.TotalMilliseconds:F1} ms");
        }

        // + the tree: two empty lists (nodes, parents), a count each.
        Assert.Equal(4L * n + 4 + 8 + 4 + 2 * 4 + 2 * 4, bytes.Length);
        Assert.Equal("big", copy.JobId);
        Assert.Equal(7, copy.Version);
        Assert.Equal(new[] { 1000, 10_000 }, copy.Parameters.Shape);
        Assert.True(
            MemoryMarshal.AsBytes(data.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(copy.Parameters.Data.AsSpan())),
            "tensor bytes differ");
    }

    // ---------- through actors, serialize-messages on ----------

    [Fact]
    public void Messages_between_actors_arrive_as_serialized_copies()
    {
        Assert.True(Sys.Settings.SerializeAllMessages);
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()), "echo");
        var sent = new ShardResult("job-" + Unicode, 3, 4, 2, -0.0, SpecialTensor(), [CubeTensor(), EmptyTensor()]);

        echo.Tell(sent, TestActor);
        var received = ExpectMsg<ShardResult>(Timeout);

        Assert.NotSame(sent, received);
        Assert.NotSame(sent.GradientSum.Data, received.GradientSum.Data);
        AssertSameValue(sent, received, nameof(ShardResult));

        echo.Tell(new PredictOnReplica("job", 5, CubeTensor(), [], TestActor), TestActor);
        var predict = ExpectMsg<PredictOnReplica>(Timeout);
        predict.ReplyTo.Tell(new RequestFailed("via the deserialized ref"));
        ExpectMsg<RequestFailed>(m => m.Reason == "via the deserialized ref", Timeout);
    }

    [Fact]
    public void Akka_own_messages_still_work_with_serialize_messages_on()
    {
        // Guards the deliberate leniency of AkkaConfig.ForTests: with
        // allow-unregistered-types = false as well, Sys.Stop and PoisonPill silently do nothing.
        var first = Sys.ActorOf(Props.Create(() => new EchoActor()));
        var second = Sys.ActorOf(Props.Create(() => new EchoActor()));
        Watch(first);
        Watch(second);

        Sys.Stop(first);
        ExpectTerminated(first, Timeout);
        second.Tell(PoisonPill.Instance);
        ExpectTerminated(second, Timeout);
    }

    private sealed class EchoActor : ReceiveActor
    {
        public EchoActor() => ReceiveAny(message => Sender.Tell(message));
    }

    private sealed record NotAProtocolMessage(int Value);

    // ---------- sample instances: every message type, edge values ----------

    private Dictionary<Type, IProtocolMessage[]> Samples()
    {
        var probe = CreateTestProbe().Ref;
        const string modelJson = """{"layers":[{"type":"lstm","units":8,"return_sequences":true}],"name":"modèle"}""";
        NamedTensor[] weights = [new("lstm/kernel", CubeTensor()), new("dense/bias", EmptyVectorTensor()), new(Unicode, SpecialTensor())];

        IProtocolMessage[] all =
        [
            // JobProtocol.cs
            new StartJob(modelJson, SpecialTensor(), CubeTensor(), [SpecialTensor(), EmptyTensor()]),
            new StartJob("", EmptyTensor(), EmptyTensor(), []),
            new JobStarted("job-1"),
            new JobStarted(Unicode),
            new JobRejected(Unicode),
            new JobRejected(""),
            new StopJob("job-1"),
            new GetJobStatus("job-1"),
            .. Enum.GetValues<JobState>().Select((state, i) => new JobStatus(
                "job-" + i, state, int.MaxValue - i, int.MinValue + i, long.MaxValue - i, i,
                SpecialDoubles[i % SpecialDoubles.Length], i % 2 == 0 ? null : Unicode)),
            new JobStatus("", JobState.Failed, 0, 0, 0, 0, 0.0, ""),
            new UnknownJob(Unicode),
            new SubscribeToJob("job-1", TestActor),
            new SubscribeToJob("job-2", probe),
            new Subscribed("job-1"),
            new StepCompleted("job-1", 1, 2, 3, -0.0, 64, 2),
            new StepCompleted("job-1", int.MaxValue, int.MinValue, 0, double.NaN, 0, int.MaxValue),
            new EpochCompleted("job-1", 1, 10, 0.5, null, []),
            new EpochCompleted("job-1", 2, 10, double.PositiveInfinity, -0.0,
                [new NamedMetric("accuracy", 0.75), new NamedMetric(Unicode, double.NaN), new NamedMetric("", double.NegativeInfinity)]),
            new JobFinished("job-1", long.MinValue, weights),
            new JobFinished("job-1", 0, []),
            new JobFailed("job-1", Unicode),
            new ResetStates("job-1", null, null, null),
            new ResetStates("job-1", 0, [], []),
            new ResetStates("job-1", -1, [0, 5, int.MaxValue, int.MinValue], [SpecialTensor(), CubeTensor()]),
            new ResetStates("job-1", int.MaxValue, null, [EmptyTensor()]),
            new ResetStates("job-1", null, [3], null),
            new StatesReset("job-1"),
            new GetWeights("job-1"),
            new WeightsReply("job-1", 7, weights),
            new WeightsReply("job-1", -1, []),
            new SetWeights("job-1", weights),
            new SetWeights("job-1", []),
            new PredictRequest("job-1", CubeTensor(), []),
            new PredictRequest("job-1", SpecialTensor(), [EmptyTensor(), ScalarTensor()]),
            new PredictResult("job-1", SpecialTensor(), [CubeTensor(), ScalarTensor()]),
            new PredictResult("job-1", EmptyTensor(), []),
            GetClusterStatus.Instance,
            new ClusterStatus(3, ["job-1", Unicode, ""]),
            new ClusterStatus(0, []),
            new RequestFailed(Unicode),

            // TrainingProtocol.cs
            new RegisterWorker("worker-1@127.0.0.1:4053", 16),
            new RegisterWorker(Unicode, 0),
            new WorkerRegistered(0),
            new WorkerRegistered(int.MaxValue),
            new LoadReplica("job-1", modelJson, "sparse_categorical_crossentropy", true, "sha256:00ff"),
            new LoadReplica("job-1", "", "", false, ""),
            new NeedJobData("job-1", Unicode),
            new JobData("job-1", "sha256:00ff", CubeTensor(), SpecialTensor(), [EmptyTensor(), ScalarTensor()]),
            new JobData("job-1", "", EmptyTensor(), EmptyTensor(), []),
            new ReplicaWeights("job-1", 42, SpecialTensor()),
            new ReplicaWeights("job-1", long.MinValue, EmptyVectorTensor(), [TestActor, probe], [-1, 0]),
            new DropReplica("job-1"),
            new ComputeBlock("job-1", long.MaxValue, long.MinValue, 17, 3, [0, 5, int.MaxValue], [SpecialTensor()], [2, 1], TestActor, [7, long.MinValue]),
            new ComputeBlock("job-1", 0, 1, 0, 0, [], [], [], probe, []),
            new ShardResult("job-1", 1, 2, 64, -0.0, SpecialTensor(), [CubeTensor()]),
            new ShardResult("job-1", -1, -2, 0, double.NaN, EmptyTensor(), []),
            new ShardFailed("job-1", 1, 2, Unicode),
            new PredictOnReplica("job-1", 5, CubeTensor(), [SpecialTensor()], TestActor),
            new PredictOnReplica("job-1", 0, EmptyTensor(), [], probe),
            new PredictRows("job-1", long.MaxValue, 0, int.MaxValue, true, TestActor),
            new PredictRows(Unicode, -1, int.MinValue, 0, false, probe),

            // Transport/TransferProtocol.cs
            new TransferChunk(long.MaxValue, 0, 3, 200_000, "akka.tcp://rnncluster@127.0.0.1:4053/user/w#17", "", "ShardResult",
                Enumerable.Range(0, 300).Select(i => (byte)i).ToArray()),
            // A view into the middle of a larger buffer, as the sender cuts chunks from a payload.
            new TransferChunk(7, 1, 3, 900, "t", "s", "ShardResult", Enumerable.Range(0, 900).Select(i => (byte)(i * 7)).ToArray().AsMemory(300, 300)),
            new TransferChunk(-1, int.MaxValue - 1, int.MaxValue, 0, Unicode, Unicode, "", ReadOnlyMemory<byte>.Empty),
            new TransferAck(42, 0),
            new TransferAck(long.MinValue, int.MaxValue),
            DataPlaneQuery.Instance,
            new DataPlaneAddress(0),
            new DataPlaneAddress(65535),
        ];

        return all.GroupBy(m => m.GetType()).ToDictionary(g => g.Key, g => g.ToArray());
    }

    private static readonly double[] SpecialDoubles =
        [double.NaN, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, 1.0 / 3.0];

    /// <summary>(2, 5): NaN (two payloads, both signs), ±Infinity, -0, +0, subnormal, extremes.</summary>
    private static Tensor SpecialTensor() => new(
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f,
        float.Epsilon, float.MaxValue, float.MinValue,
        BitConverter.Int32BitsToSingle(0x7FC01234), BitConverter.Int32BitsToSingle(unchecked((int)0xFF800001)),
    ], 2, 5);

    /// <summary>(0, 3): no values, but a shape.</summary>
    private static Tensor EmptyTensor() => new([], 0, 3);

    /// <summary>(0,): rank 1, no values.</summary>
    private static Tensor EmptyVectorTensor() => new([], 0);

    /// <summary>(): rank 0, one value.</summary>
    private static Tensor ScalarTensor() => new([-0f]);

    /// <summary>(2, 3, 4).</summary>
    private static Tensor CubeTensor() => new(Enumerable.Range(0, 24).Select(i => i * 0.5f - 3f).ToArray(), 2, 3, 4);

    // ---------- helpers ----------

    private static ProtocolSerializer ProtocolSerializerOf(ActorSystem system) =>
        Assert.IsType<ProtocolSerializer>(system.Serialization.FindSerializerForType(typeof(StartJob)));

    /// <summary>Serializes with the serializer Akka picks and deserializes through Akka's registry by id and manifest.</summary>
    private object RoundTrip(IProtocolMessage message)
    {
        var serializer = Assert.IsType<ProtocolSerializer>(Sys.Serialization.FindSerializerFor(message));
        var manifest = serializer.Manifest(message);
        var bytes = serializer.ToBinary(message);
        var copy = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
        Assert.IsType(message.GetType(), copy);
        return copy;
    }

    /// <summary>
    /// Field by field, recursively through records and lists: tensors and floating-point values
    /// bitwise, strings ordinally, null distinct from empty.
    /// </summary>
    private static void AssertSameValue(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }
        switch (expected)
        {
            case Tensor tensor:
                var other = Assert.IsType<Tensor>(actual);
                Assert.True(tensor.Shape.AsSpan().SequenceEqual(other.Shape),
                    $"{path}: shape {Tensor.FormatShape(tensor.Shape)} became {Tensor.FormatShape(other.Shape)}");
                for (var i = 0; i < tensor.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(tensor.Data[i]) != BitConverter.SingleToInt32Bits(other.Data[i]))
                        Assert.Fail($"{path}.Data[{i}]: {tensor.Data[i]} (0x{BitConverter.SingleToInt32Bits(tensor.Data[i]):X8}) became {other.Data[i]} (0x{BitConverter.SingleToInt32Bits(other.Data[i]):X8})");
                }
                return;
            case string text:
                Assert.True(string.Equals(text, Assert.IsType<string>(actual), StringComparison.Ordinal), $"{path}: \"{text}\" became \"{actual}\"");
                return;
            case double number:
                Assert.True(BitConverter.DoubleToInt64Bits(number) == BitConverter.DoubleToInt64Bits(Assert.IsType<double>(actual)),
                    $"{path}: {number} became {actual}");
                return;
            case float number:
                Assert.True(BitConverter.SingleToInt32Bits(number) == BitConverter.SingleToInt32Bits(Assert.IsType<float>(actual)),
                    $"{path}: {number} became {actual}");
                return;
            case ReadOnlyMemory<byte> bytes:
                Assert.True(bytes.Span.SequenceEqual(Assert.IsType<ReadOnlyMemory<byte>>(actual).Span), $"{path}: bytes differ");
                return;
            case IActorRef actorRef:
                Assert.Equal(actorRef, Assert.IsAssignableFrom<IActorRef>(actual));
                Assert.Equal(actorRef.Path.ToSerializationFormat(), ((IActorRef)actual).Path.ToSerializationFormat());
                return;
            case IEnumerable list:
                var expectedItems = list.Cast<object?>().ToList();
                var actualItems = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object?>().ToList();
                Assert.True(expectedItems.Count == actualItems.Count, $"{path}: {expectedItems.Count} items became {actualItems.Count}");
                for (var i = 0; i < expectedItems.Count; i++) AssertSameValue(expectedItems[i], actualItems[i], $"{path}[{i}]");
                return;
        }

        var type = expected.GetType();
        Assert.Equal(type, actual.GetType());
        if (type.IsPrimitive || type.IsEnum)
        {
            Assert.True(expected.Equals(actual), $"{path}: {expected} became {actual}");
            return;
        }
        // records (an empty message has no properties: its type is all there is to compare)
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        foreach (var property in properties)
            AssertSameValue(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
    }
}

/// <summary><see cref="AkkaConfig"/>: the test configuration and the pinned dispatchers.</summary>
public sealed class AkkaConfigTests : TestKit
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public AkkaConfigTests(ITestOutputHelper output) : base(AkkaConfig.ForTests(), nameof(AkkaConfigTests), output)
    {
    }

    [Fact]
    public void Test_configuration_serializes_messages_and_keeps_the_testkit_logger()
    {
        var config = Sys.Settings.Config;

        Assert.True(Sys.Settings.SerializeAllMessages);
        Assert.Equal("INFO", Sys.Settings.LogLevel);
        Assert.False(config.GetBoolean("akka.log-dead-letters-during-shutdown"));
        Assert.Contains(config.GetStringList("akka.loggers"), logger => logger.Contains("TestEventListener", StringComparison.Ordinal));
        Assert.True(config.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types"));
    }

    [Fact]
    public async Task Program_configuration_has_no_json_fallback()
    {
        var system = AkkaConfig.CreateLocalSystem("strict-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.False(system.Settings.SerializeAllMessages);
            Assert.False(system.Settings.Config.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types"));
            Assert.IsType<ProtocolSerializer>(system.Serialization.FindSerializerForType(typeof(ShardResult)));
            var e = Assert.Throws<SerializationException>(() => system.Serialization.FindSerializerForType(typeof(NotBound)));
            Assert.Contains(nameof(NotBound), e.Message);
        }
        finally
        {
            await system.Terminate().WaitAsync(Timeout);
        }
    }

    [Theory]
    [InlineData(AkkaConfig.WorkerDispatcher)]
    [InlineData(AkkaConfig.JobDispatcher)]
    public void Pinned_dispatcher_gives_each_actor_a_thread_of_its_own(string dispatcher)
    {
        Assert.True(Sys.Dispatchers.HasDispatcher(dispatcher));
        Assert.IsType<PinnedDispatcher>(Sys.Dispatchers.Lookup(dispatcher));
        var props = Props.Create(() => new ThreadReporter()).WithDispatcher(dispatcher);
        var first = Sys.ActorOf(props);
        var second = Sys.ActorOf(props);

        var a1 = Report(first);
        var b = Report(second);
        var a2 = Report(first);

        Assert.Equal(a1.ThreadId, a2.ThreadId);
        Assert.NotEqual(a1.ThreadId, b.ThreadId);
        Assert.False(a1.IsThreadPoolThread);
        Assert.False(b.IsThreadPoolThread);
    }

    private ThreadReport Report(IActorRef actor)
    {
        actor.Tell(WhichThread.Instance);
        return ExpectMsg<ThreadReport>(Timeout);
    }

    private sealed record NotBound(int Value);

    // Actor-internal messages: never cross nodes, so exempt from serialize-messages.
    private sealed class WhichThread : INoSerializationVerificationNeeded
    {
        public static readonly WhichThread Instance = new();
    }

    private sealed record ThreadReport(int ThreadId, bool IsThreadPoolThread) : INoSerializationVerificationNeeded;

    private sealed class ThreadReporter : ReceiveActor
    {
        public ThreadReporter() =>
            Receive<WhichThread>(_ => Sender.Tell(new ThreadReport(Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread)));
    }
}
