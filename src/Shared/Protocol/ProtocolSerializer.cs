using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using RnnCluster.Model;

namespace RnnCluster.Protocol;

/// <summary>
/// Hand-written binary serializer for every <see cref="IProtocolMessage"/>, bound to the marker
/// interface in <see cref="Hosting.AkkaConfig.Serialization"/>. Each message type has a short,
/// stable string manifest (its type name written out as a literal, so renaming a type does not
/// change the wire format) and an explicit field-by-field encoding, little-endian.
/// </summary>
/// <remarks>
/// Encodings of the building blocks:
/// <list type="bullet">
/// <item>string: BinaryWriter's 7-bit length prefix + strict UTF-8 (a lone surrogate fails loudly).</item>
/// <item>nullable value or string: a bool "present" flag, then the value.</item>
/// <item>list: int count, -1 for null (so null and empty stay distinct), then the items.</item>
/// <item>byte block: int length, then the bytes.</item>
/// <item>tensor: int rank, rank int dims, then the raw float32 bytes in one block copy; every bit
/// pattern (NaN payloads, ±Infinity, -0) survives.</item>
/// <item>actor ref: its serialized path; resolved through the system's provider on read.</item>
/// <item>enum: its int value, checked on read.</item>
/// <item>message without fields: nothing; its singleton <c>Instance</c> is returned on read.</item>
/// </list>
/// <para>Reading is defensive: every length, count and shape is checked against the bytes actually
/// left before anything is allocated for it (a hostile length field gets an exception, not an
/// allocation), bools must be 0 or 1, enums defined, a message no larger than
/// <see cref="MaxMessageBytes"/> and used up exactly; whatever goes wrong comes out as a
/// <see cref="SerializationException"/> naming the manifest. Manifests are <c>Name@Version</c>; a
/// known name with another version fails naming both versions (mixed program versions).</para>
/// A message is written twice: once into a counting stream to learn its exact size, then into a
/// buffer of that size (or a reused longer one, for the transfer layer); a multi-megabyte tensor
/// is copied once per direction.
/// </remarks>
public sealed class ProtocolSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer identifier (Akka.NET reserves 0..40; DESIGN.md keeps ours above 100).</summary>
    public const int Id = 4711;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Between a message's name and its protocol version in a manifest: <c>StartJob@1</c>.</summary>
    public const char VersionSeparator = '@';

    /// <summary>
    /// The largest message read or accepted as a transfer's total: a job's data at the
    /// <see cref="Security.ResourceLimits.MaxDataBytes"/> limit plus room for the rest of the message,
    /// at most what one array holds.
    /// </summary>
    public static long MaxMessageBytes => Math.Min(Array.MaxLength, Security.ResourceLimits.Current.MaxDataBytes + (64L << 20));

    private readonly ExtendedActorSystem _system;

    public ProtocolSerializer(ExtendedActorSystem system) : base(system)
    {
        _system = system;
    }

    public override int Identifier => Id;

    /// <summary>Every message type this serializer knows, for checks and tests.</summary>
    public static IReadOnlyCollection<Type> MessageTypes => ByType.Keys;

    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return CodecFor(o.GetType()).Manifest;
    }

    public override byte[] ToBinary(object obj) => ToBinary(obj, size => GC.AllocateUninitializedArray<byte>(size), out _);

    /// <summary>
    /// Writes <paramref name="obj"/> into the first <c>length</c> bytes (the return value) of a
    /// buffer from <paramref name="allocate"/>, which is given the exact size and may return a
    /// longer array (a reused one: the transfer layer's buffers), so a large message need not
    /// land in freshly allocated, not yet touched memory.
    /// </summary>
    public byte[] ToBinary(object obj, Func<int, byte[]> allocate, out int length)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(allocate);
        var codec = CodecFor(obj.GetType());

        var counter = new CountingStream();
        using (var sizing = new BinaryWriter(counter, Utf8, leaveOpen: true))
            codec.Write(new ProtocolWriter(sizing), obj);

        if (counter.Length > Array.MaxLength)
            throw new SerializationException(
                $"{codec.Manifest} needs {counter.Length} bytes, more than one array holds; send it in chunks");
        length = (int)counter.Length;
        var bytes = allocate(length);
        if (bytes.Length < length) throw new ArgumentException($"allocate returned {bytes.Length} bytes for {length}", nameof(allocate));
        using var stream = new MemoryStream(bytes, 0, length, writable: true);
        using (var writer = new BinaryWriter(stream, Utf8, leaveOpen: true))
            codec.Write(new ProtocolWriter(writer), obj);
        if (stream.Position != length)
            throw new SerializationException($"{codec.Manifest}: wrote {stream.Position} of {length} bytes (encoder is not deterministic)");
        return bytes;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Read(bytes, bytes.Length, manifest, keepViews: true, null);
    }

    /// <summary>
    /// Reads a message from the first <paramref name="length"/> bytes of <paramref name="bytes"/>
    /// (a reused, longer buffer). The message keeps no reference to <paramref name="bytes"/>:
    /// tensors are copied out, so the buffer may be written again as soon as this returns.
    /// </summary>
    /// <remarks>
    /// <paramref name="allocateTensorData"/>, when given, supplies the array of each tensor read
    /// (given its exact length); null: fresh arrays.
    /// </remarks>
    public object FromBinary(byte[] bytes, int length, string manifest, Func<int, float[]>? allocateTensorData = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Read(bytes, length, manifest, keepViews: false, allocateTensorData);
    }

    private object Read(byte[] bytes, int length, string manifest, bool keepViews, Func<int, float[]>? allocateTensorData)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, bytes.Length);
        if (manifest is null || !ByManifest.TryGetValue(manifest, out var codec))
            throw new SerializationException(UnknownManifest(manifest));
        if (length > MaxMessageBytes)
            throw new SerializationException($"{manifest} message of {length} bytes is larger than the limit of {MaxMessageBytes} bytes");

        using var reader = new BinaryReader(new MemoryStream(bytes, 0, length, writable: false, publiclyVisible: true), Utf8);
        object message;
        try
        {
            message = codec.Read(new ProtocolReader(reader, _system, keepViews, allocateTensorData));
        }
        catch (Exception e) when (e is not (SerializationException or OutOfMemoryException))
        {
            // Whatever a corrupt or hostile payload trips over (a short read, bad UTF-8, a shape
            // the tensor refuses, an actor path that does not parse): one exception type, naming the message.
            throw new SerializationException($"corrupt {manifest} message ({length} bytes): {e.Message}", e);
        }
        if (reader.BaseStream.Position != length)
            throw new SerializationException(
                $"corrupt {manifest} message: {length - reader.BaseStream.Position} bytes left over after the last field");
        return message;
    }

    /// <summary>
    /// Why a manifest is not read: a known message of another protocol version (naming both, the
    /// sender's first), an unversioned manifest of a program from before versions, or an unknown message.
    /// </summary>
    private static string UnknownManifest(string? manifest)
    {
        if (manifest is null) return $"ProtocolSerializer ({Id}) got a message without a manifest";
        int at = manifest.LastIndexOf(VersionSeparator);
        var name = at < 0 ? manifest : manifest[..at];
        var theirs = at < 0 ? "0 (unversioned)" : manifest[(at + 1)..];
        if (ByName.TryGetValue(name, out var ours))
            return $"{name} message of protocol version {theirs} from the sender; this program reads version {ours.Version} " +
                   "(mixed versions of rnncluster: run the same version on every node and client)";
        return $"ProtocolSerializer ({Id}) does not know the manifest '{(manifest.Length > 64 ? manifest[..64] + "..." : manifest)}'; is the sender running a newer protocol?";
    }

    private static Codec CodecFor(Type type) =>
        ByType.TryGetValue(type, out var codec)
            ? codec
            : throw new SerializationException($"ProtocolSerializer has no encoding for {type.FullName}; add it to the codec table");

    // ------------------------------------------------------------------------------------------
    // The codec table: manifest -> (type, write, read), one block per conversation, in the order
    // of the protocol files. Reads evaluate constructor arguments left to right, as written.
    // ------------------------------------------------------------------------------------------

    private static readonly Codec[] Codecs =
    [
        // ---- JobProtocol.cs: client <-> coordinator ----

        // start, stop, status
        Codec.Of<StartJob>("StartJob",
            (w, m) => { w.String(m.JobJson); w.Tensor(m.X); w.Tensor(m.Y); w.Tensors(m.InitialStates); w.NullableActorRef(m.Subscriber); },
            r => new StartJob(r.String(), r.Tensor(), r.Tensor(), r.Tensors(), r.NullableActorRef())),
        Codec.Of<JobStarted>("JobStarted", (w, m) => w.String(m.JobId), r => new JobStarted(r.String())),
        Codec.Of<JobRejected>("JobRejected", (w, m) => w.String(m.Reason), r => new JobRejected(r.String())),
        Codec.Of<StopJob>("StopJob", (w, m) => w.String(m.JobId), r => new StopJob(r.String())),
        Codec.Of<GetJobStatus>("GetJobStatus", (w, m) => w.String(m.JobId), r => new GetJobStatus(r.String())),
        Codec.Of<JobStatus>("JobStatus",
            (w, m) =>
            {
                w.String(m.JobId); w.JobState(m.State); w.Int(m.Epoch); w.Int(m.Step); w.Long(m.WeightsVersion);
                w.Int(m.Workers); w.Double(m.LastLoss); w.NullableString(m.Error);
            },
            r => new JobStatus(r.String(), r.JobState(), r.Int(), r.Int(), r.Long(), r.Int(), r.Double(), r.NullableString())),
        Codec.Of<UnknownJob>("UnknownJob", (w, m) => w.String(m.JobId), r => new UnknownJob(r.String())),

        // progress events
        Codec.Of<SubscribeToJob>("SubscribeToJob",
            (w, m) => { w.String(m.JobId); w.ActorRef(m.Subscriber); },
            r => new SubscribeToJob(r.String(), r.ActorRef())),
        Codec.Of<Subscribed>("Subscribed", (w, m) => w.String(m.JobId), r => new Subscribed(r.String())),
        Codec.Of<StepCompleted>("StepCompleted",
            (w, m) =>
            {
                w.String(m.JobId); w.Int(m.Epoch); w.Int(m.Step); w.Int(m.StepsPerEpoch); w.Double(m.Loss);
                w.Int(m.Rows); w.Int(m.Workers);
            },
            r => new StepCompleted(r.String(), r.Int(), r.Int(), r.Int(), r.Double(), r.Int(), r.Int())),
        Codec.Of<EpochCompleted>("EpochCompleted",
            (w, m) =>
            {
                w.String(m.JobId); w.Int(m.Epoch); w.Int(m.Epochs); w.Double(m.Loss); w.NullableDouble(m.ValidationLoss);
                w.Metrics(m.Metrics);
            },
            r => new EpochCompleted(r.String(), r.Int(), r.Int(), r.Double(), r.NullableDouble(), r.Metrics())),
        Codec.Of<JobFinished>("JobFinished",
            (w, m) => { w.String(m.JobId); w.Long(m.WeightsVersion); w.NamedTensors(m.Weights); },
            r => new JobFinished(r.String(), r.Long(), r.NamedTensors())),
        Codec.Of<JobFailed>("JobFailed",
            (w, m) => { w.String(m.JobId); w.String(m.Reason); },
            r => new JobFailed(r.String(), r.String())),

        // states
        Codec.Of<ResetStates>("ResetStates",
            (w, m) => { w.String(m.JobId); w.NullableInt(m.Layer); w.NullableInts(m.Rows); w.NullableTensors(m.Values); },
            r => new ResetStates(r.String(), r.NullableInt(), r.NullableInts(), r.NullableTensors())),
        Codec.Of<StatesReset>("StatesReset", (w, m) => w.String(m.JobId), r => new StatesReset(r.String())),

        // weights
        Codec.Of<GetWeights>("GetWeights", (w, m) => w.String(m.JobId), r => new GetWeights(r.String())),
        Codec.Of<WeightsReply>("WeightsReply",
            (w, m) => { w.String(m.JobId); w.Long(m.Version); w.NamedTensors(m.Weights); },
            r => new WeightsReply(r.String(), r.Long(), r.NamedTensors())),
        Codec.Of<SetWeights>("SetWeights",
            (w, m) => { w.String(m.JobId); w.NamedTensors(m.Weights); },
            r => new SetWeights(r.String(), r.NamedTensors())),

        // predict
        Codec.Of<PredictRequest>("PredictRequest",
            (w, m) => { w.String(m.JobId); w.Tensor(m.X); w.Tensors(m.InitialStates); },
            r => new PredictRequest(r.String(), r.Tensor(), r.Tensors())),
        Codec.Of<PredictResult>("PredictResult",
            (w, m) => { w.String(m.JobId); w.Tensor(m.Output); w.Tensors(m.FinalStates); },
            r => new PredictResult(r.String(), r.Tensor(), r.Tensors())),

        // cluster status
        Codec.Of<GetClusterStatus>("GetClusterStatus", (_, _) => { }, _ => GetClusterStatus.Instance),
        Codec.Of<ClusterStatus>("ClusterStatus",
            (w, m) => { w.Int(m.Workers); w.Strings(m.Jobs); },
            r => new ClusterStatus(r.Int(), r.Strings())),

        // failures
        Codec.Of<RequestFailed>("RequestFailed", (w, m) => w.String(m.Reason), r => new RequestFailed(r.String())),

        // ---- TrainingProtocol.cs: coordinator <-> worker ----

        // registration
        Codec.Of<RegisterWorker>("RegisterWorker",
            (w, m) => { w.String(m.WorkerName); w.Int(m.Workers); },
            r => new RegisterWorker(r.String(), r.Int())),
        Codec.Of<WorkerRegistered>("WorkerRegistered", (w, m) => w.Int(m.LiveWorkers), r => new WorkerRegistered(r.Int())),

        // replicas and the job's data
        Codec.Of<LoadReplica>("LoadReplica",
            (w, m) => { w.String(m.JobId); w.String(m.ModelJson); w.String(m.Loss); w.Bool(m.FromLogits); w.String(m.DataHash); },
            r => new LoadReplica(r.String(), r.String(), r.String(), r.Bool(), r.String())),
        Codec.Of<NeedJobData>("NeedJobData",
            (w, m) => { w.String(m.JobId); w.String(m.DataHash); },
            r => new NeedJobData(r.String(), r.String())),
        Codec.Of<JobData>("JobData",
            (w, m) => { w.String(m.JobId); w.String(m.DataHash); w.Tensor(m.X); w.Tensor(m.Y); w.Tensors(m.InitialStates); },
            r => new JobData(r.String(), r.String(), r.Tensor(), r.Tensor(), r.Tensors())),
        Codec.Of<ReplicaWeights>("ReplicaWeights",
            (w, m) => { w.String(m.JobId); w.Long(m.Version); w.Tensor(m.Parameters); w.ActorRefs(m.Tree); w.Ints(m.Parents); },
            r => new ReplicaWeights(r.String(), r.Long(), r.Tensor(), r.ActorRefs(), r.Ints())),
        Codec.Of<DropReplica>("DropReplica", (w, m) => w.String(m.JobId), r => new DropReplica(r.String())),

        // blocks
        Codec.Of<ComputeBlock>("ComputeBlock",
            (w, m) =>
            {
                w.String(m.JobId); w.Long(m.Step); w.Long(m.ShardId); w.Int(m.RowStart); w.Long(m.WeightsVersion);
                w.Ints(m.Rows); w.Tensors(m.InitialStates); w.Ints(m.ShardSizes); w.ActorRef(m.ReplyTo); w.Longs(m.ChildShards);
            },
            r => new ComputeBlock(r.String(), r.Long(), r.Long(), r.Int(), r.Long(), r.Ints(), r.Tensors(), r.Ints(), r.ActorRef(), r.Longs())),
        Codec.Of<ShardResult>("ShardResult",
            (w, m) =>
            {
                w.String(m.JobId); w.Long(m.Step); w.Long(m.ShardId); w.Int(m.Rows); w.Double(m.LossSum);
                w.Tensor(m.GradientSum); w.Tensors(m.FinalStates);
            },
            r => new ShardResult(r.String(), r.Long(), r.Long(), r.Int(), r.Double(), r.Tensor(), r.Tensors())),
        Codec.Of<ShardFailed>("ShardFailed",
            (w, m) => { w.String(m.JobId); w.Long(m.Step); w.Long(m.ShardId); w.String(m.Reason); },
            r => new ShardFailed(r.String(), r.Long(), r.Long(), r.String())),

        // predict on a replica
        Codec.Of<PredictOnReplica>("PredictOnReplica",
            (w, m) => { w.String(m.JobId); w.Long(m.WeightsVersion); w.Tensor(m.X); w.Tensors(m.InitialStates); w.ActorRef(m.ReplyTo); },
            r => new PredictOnReplica(r.String(), r.Long(), r.Tensor(), r.Tensors(), r.ActorRef())),
        Codec.Of<PredictRows>("PredictRows",
            (w, m) => { w.String(m.JobId); w.Long(m.WeightsVersion); w.Int(m.RowStart); w.Int(m.Count); w.Bool(m.DataStates); w.ActorRef(m.ReplyTo); },
            r => new PredictRows(r.String(), r.Long(), r.Int(), r.Int(), r.Bool(), r.ActorRef())),

        // ---- Transport/TransferProtocol.cs: transfer actor <-> transfer actor ----

        Codec.Of<Transport.TransferChunk>("TransferChunk",
            (w, m) =>
            {
                w.Long(m.TransferId); w.Int(m.Index); w.Int(m.Count); w.Int(m.TotalBytes);
                w.String(m.TargetPath); w.String(m.SenderPath); w.String(m.Manifest); w.Bytes(m.Data);
            },
            r => r.Chunk(new Transport.TransferChunk(r.Long(), r.Int(), r.Int(), r.Int(), r.String(), r.String(), r.String(), r.BytesView()))),
        Codec.Of<Transport.TransferAck>("TransferAck",
            (w, m) => { w.Long(m.TransferId); w.Int(m.Index); },
            r => new Transport.TransferAck(r.Long(), r.Int())),
        Codec.Of<Transport.DataPlaneQuery>("DataPlaneQuery", (_, _) => { }, _ => Transport.DataPlaneQuery.Instance),
        Codec.Of<Transport.DataPlaneAddress>("DataPlaneAddress", (w, m) => w.Int(m.Port), r => new Transport.DataPlaneAddress(r.Int())),
    ];

    private static readonly Dictionary<Type, Codec> ByType = Codecs.ToDictionary(c => c.Type);

    private static readonly Dictionary<string, Codec> ByManifest = Codecs.ToDictionary(c => c.Manifest, StringComparer.Ordinal);

    private static readonly Dictionary<string, Codec> ByName = Codecs.ToDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>
    /// One message's encoding: its stable <paramref name="Name"/> and the <paramref name="Version"/>
    /// of its layout, together the manifest <c>Name@Version</c>. Change a layout: raise its version,
    /// so a reader of the old one fails naming both versions instead of misreading the fields.
    /// </summary>
    private sealed record Codec(string Name, int Version, Type Type, Action<ProtocolWriter, object> Write, Func<ProtocolReader, object> Read)
    {
        public string Manifest { get; } = $"{Name}{VersionSeparator}{Version}";

        public static Codec Of<T>(string name, Action<ProtocolWriter, T> write, Func<ProtocolReader, T> read, int version = 1)
            where T : class, IProtocolMessage =>
            new(name, version, typeof(T), (w, o) => write(w, (T)o), r => read(r));
    }

    // ------------------------------------------------------------------------------------------
    // Building blocks
    // ------------------------------------------------------------------------------------------

    private readonly struct ProtocolWriter(BinaryWriter w)
    {
        public void String(string value) =>
            w.Write(value ?? throw new ArgumentNullException(nameof(value), "a non-nullable protocol string is null"));

        public void NullableString(string? value)
        {
            w.Write(value is not null);
            if (value is not null) w.Write(value);
        }

        public void Bool(bool value) => w.Write(value);

        public void Int(int value) => w.Write(value);

        public void Long(long value) => w.Write(value);

        public void Double(double value) => w.Write(value);

        public void NullableInt(int? value)
        {
            w.Write(value.HasValue);
            if (value.HasValue) w.Write(value.Value);
        }

        public void NullableDouble(double? value)
        {
            w.Write(value.HasValue);
            if (value.HasValue) w.Write(value.Value);
        }

        public void JobState(JobState value) => w.Write((int)value);

        public void ActorRef(IActorRef value)
        {
            ArgumentNullException.ThrowIfNull(value);
            w.Write(Akka.Serialization.Serialization.SerializedActorPath(value));
        }

        public void NullableActorRef(IActorRef? value)
        {
            w.Write(value is not null);
            if (value is not null) ActorRef(value);
        }

        public void Tensor(Tensor value)
        {
            ArgumentNullException.ThrowIfNull(value);
            w.Write(value.Shape.Length);
            foreach (var d in value.Shape) w.Write(d);
            if (BitConverter.IsLittleEndian)
            {
                w.Write(MemoryMarshal.AsBytes(value.Data.AsSpan()));
            }
            else
            {
                foreach (var x in value.Data) w.Write(x);
            }
        }

        public void Bytes(ReadOnlyMemory<byte> value)
        {
            w.Write(value.Length);
            w.Write(value.Span);
        }

        public void Strings(IReadOnlyList<string> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            w.Write(values.Count);
            foreach (var v in values) String(v);
        }

        public void Tensors(IReadOnlyList<Tensor> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            NullableTensors(values);
        }

        public void NullableTensors(IReadOnlyList<Tensor>? values)
        {
            w.Write(values?.Count ?? -1);
            if (values is null) return;
            foreach (var t in values) Tensor(t);
        }

        public void NullableInts(IReadOnlyList<int>? values)
        {
            w.Write(values?.Count ?? -1);
            if (values is null) return;
            foreach (var v in values) w.Write(v);
        }

        public void Ints(IReadOnlyList<int> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            NullableInts(values);
        }

        public void Longs(IReadOnlyList<long> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            w.Write(values.Count);
            foreach (var v in values) w.Write(v);
        }

        public void ActorRefs(IReadOnlyList<IActorRef> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            w.Write(values.Count);
            foreach (var v in values) ActorRef(v);
        }

        public void NamedTensors(IReadOnlyList<NamedTensor> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            w.Write(values.Count);
            foreach (var nt in values)
            {
                ArgumentNullException.ThrowIfNull(nt);
                String(nt.Name);
                Tensor(nt.Value);
            }
        }

        public void Metrics(IReadOnlyList<NamedMetric> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            w.Write(values.Count);
            foreach (var m in values)
            {
                ArgumentNullException.ThrowIfNull(m);
                String(m.Name);
                w.Write(m.Value);
            }
        }
    }

    private readonly struct ProtocolReader(BinaryReader r, ExtendedActorSystem system, bool keepViews, Func<int, float[]>? allocateTensorData)
    {
        private const int MaxRank = 64;

        private long Remaining => r.BaseStream.Length - r.BaseStream.Position;

        /// <summary>A 7-bit length prefix, checked against the bytes left before anything is decoded, then strict UTF-8.</summary>
        public string String()
        {
            var count = r.Read7BitEncodedInt();
            if (count < 0 || count > Remaining) throw new InvalidDataException($"string of {count} bytes in a message with {Remaining} left");
            if (r.BaseStream is MemoryStream stream && stream.TryGetBuffer(out var buffer))
            {
                var text = Utf8.GetString(buffer.Array!, buffer.Offset + (int)stream.Position, count);
                stream.Position += count;
                return text;
            }
            return Utf8.GetString(r.ReadBytes(count));
        }

        public string? NullableString() => Bool() ? String() : null;

        /// <summary>0 or 1; any other byte is corruption, not "true".</summary>
        public bool Bool() => r.ReadByte() switch
        {
            0 => false,
            1 => true,
            var b => throw new InvalidDataException($"bool byte {b}"),
        };

        public int Int() => r.ReadInt32();

        public long Long() => r.ReadInt64();

        public double Double() => r.ReadDouble();

        public int? NullableInt() => Bool() ? r.ReadInt32() : null;

        public double? NullableDouble() => Bool() ? r.ReadDouble() : null;

        public JobState JobState()
        {
            var value = (JobState)r.ReadInt32();
            return Enum.IsDefined(value) ? value : throw new InvalidDataException($"unknown JobState {(int)value}");
        }

        public IActorRef ActorRef() => system.Provider.ResolveActorRef(String());

        public IActorRef? NullableActorRef() => Bool() ? ActorRef() : null;

        /// <summary>
        /// A transfer chunk's counts, checked before the transfer layer sizes a reassembly buffer
        /// by them: at least one chunk, the index among them, a total within <see cref="MaxMessageBytes"/>
        /// that holds this chunk.
        /// </summary>
        public Transport.TransferChunk Chunk(Transport.TransferChunk c)
        {
            if (c.Count < 1 || c.Index < 0 || c.Index >= c.Count) throw new InvalidDataException($"chunk {c.Index} of {c.Count}");
            if (c.TotalBytes < 0 || c.TotalBytes > MaxMessageBytes)
                throw new InvalidDataException($"a transfer of {c.TotalBytes} bytes (the limit is {MaxMessageBytes})");
            if (c.Data.Length > c.TotalBytes) throw new InvalidDataException($"a chunk of {c.Data.Length} bytes in a transfer of {c.TotalBytes}");
            return c;
        }

        public Tensor Tensor()
        {
            var rank = r.ReadInt32();
            if (rank is < 0 or > MaxRank) throw new InvalidDataException($"tensor rank {rank}");
            var shape = new int[rank];
            long count = 1;
            for (var i = 0; i < rank; i++)
            {
                shape[i] = r.ReadInt32();
                if (shape[i] < 0) throw new InvalidDataException($"negative dimension in tensor shape {Model.Tensor.FormatShape(shape)}");
                count *= shape[i];
                if (count * sizeof(float) > Remaining)
                    throw new InvalidDataException($"tensor of shape {Model.Tensor.FormatShape(shape)} is longer than the message");
            }
            var data = allocateTensorData?.Invoke((int)count) ?? GC.AllocateUninitializedArray<float>((int)count);
            if (data.Length != count) throw new InvalidOperationException($"tensor allocator returned {data.Length} floats for {count}");
            if (BitConverter.IsLittleEndian)
            {
                var bytes = MemoryMarshal.AsBytes(data.AsSpan());
                while (bytes.Length > 0)
                {
                    var read = r.Read(bytes);
                    if (read == 0) throw new EndOfStreamException("tensor data ends early");
                    bytes = bytes[read..];
                }
            }
            else
            {
                for (var i = 0; i < data.Length; i++) data[i] = r.ReadSingle();
            }
            return new Tensor(data, shape);
        }

        /// <summary>
        /// A byte block: a view of the bytes being read when they belong to this message alone
        /// (<c>keepViews</c>: Akka hands <see cref="FromBinary(byte[], string)"/> an array of its
        /// own per message), else a copy (a reused buffer).
        /// </summary>
        public ReadOnlyMemory<byte> BytesView()
        {
            var count = r.ReadInt32();
            if (count < 0 || count > Remaining) throw new InvalidDataException($"byte block of {count} bytes");
            if (keepViews && r.BaseStream is MemoryStream stream && stream.TryGetBuffer(out var buffer))
            {
                var view = new ReadOnlyMemory<byte>(buffer.Array, buffer.Offset + (int)stream.Position, count);
                stream.Position += count;
                return view;
            }
            return r.ReadBytes(count);
        }

        public string[] Strings()
        {
            var values = new string[Count(nullable: false)];
            for (var i = 0; i < values.Length; i++) values[i] = String();
            return values;
        }

        public Tensor[] Tensors() =>
            NullableTensors() ?? throw new InvalidDataException("null tensor list where the protocol requires one");

        public Tensor[]? NullableTensors()
        {
            var count = Count(nullable: true);
            if (count < 0) return null;
            var values = new Tensor[count];
            for (var i = 0; i < count; i++) values[i] = Tensor();
            return values;
        }

        public int[]? NullableInts()
        {
            var count = Count(nullable: true);
            if (count < 0) return null;
            if ((long)count * sizeof(int) > Remaining) throw new InvalidDataException($"{count} ints are longer than the message");
            var values = new int[count];
            for (var i = 0; i < count; i++) values[i] = r.ReadInt32();
            return values;
        }

        public int[] Ints() =>
            NullableInts() ?? throw new InvalidDataException("null int list where the protocol requires one");

        public long[] Longs()
        {
            var count = Count(nullable: false);
            if ((long)count * sizeof(long) > Remaining) throw new InvalidDataException($"{count} longs are longer than the message");
            var values = new long[count];
            for (var i = 0; i < count; i++) values[i] = r.ReadInt64();
            return values;
        }

        public IActorRef[] ActorRefs()
        {
            var values = new IActorRef[Count(nullable: false)];
            for (var i = 0; i < values.Length; i++) values[i] = ActorRef();
            return values;
        }

        public NamedTensor[] NamedTensors()
        {
            var values = new NamedTensor[Count(nullable: false)];
            for (var i = 0; i < values.Length; i++) values[i] = new NamedTensor(String(), Tensor());
            return values;
        }

        public NamedMetric[] Metrics()
        {
            var values = new NamedMetric[Count(nullable: false)];
            for (var i = 0; i < values.Length; i++) values[i] = new NamedMetric(String(), Double());
            return values;
        }

        /// <summary>A list count, -1 for null; every item takes at least one byte, which bounds it.</summary>
        private int Count(bool nullable)
        {
            var count = r.ReadInt32();
            if (count == -1 && nullable) return -1;
            if (count < 0 || count > Remaining) throw new InvalidDataException($"list count {count}");
            return count;
        }
    }

    /// <summary>A write-only stream that only counts, for the sizing pass.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
        public override void WriteByte(byte value) => _length++;
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
