using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Checkpoints;

/// <summary>
/// A job's checkpoints in a folder: <c>ROOT/KEY/</c> (KEY from <see cref="JobKey"/>) holds the job's
/// data once (<c>data/</c>: data.npz with x, y, initial_state{k}, and data.json) and its latest
/// checkpoints, one sealed folder each (<see cref="SealedDirectory"/>), named
/// <c>epoch-EEEEE-batch-BBBBBBB</c> by where the job was:
/// <list type="bullet">
/// <item><c>weights.npz</c>: the weights in Keras layout and names, with <c>model.json</c> a usable model (<c>rnncluster predict --model</c>);</item>
/// <item><c>state.npz</c>: the optimizer's moments (<c>optimizer.slot1</c>, <c>optimizer.slot2</c>) and the stateful state table (<c>state.K</c>);</item>
/// <item><c>checkpoint.json</c>: format version, job id and key, cursor, optimizer step count, metrics so far; <c>job.json</c>: the job;</item>
/// <item><c>SHA256SUMS</c>: the checksum of each of them.</item>
/// </list>
/// The newest <see cref="Keep"/> are kept. Reading takes the newest checkpoint that verifies and
/// reports every newer one it had to pass over (truncated, damaged, another format version).
/// </summary>
public sealed class CheckpointStore
{
    public const int FormatVersion = 1;
    private const string DataFolder = "data";
    private const string EndedFolder = "ended";
    private const string Prefix = "epoch-";
    private static readonly string[] CheckpointFiles = ["weights.npz", "model.json", "state.npz", "checkpoint.json", "job.json"];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public CheckpointStore(string root, int keep = 2)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "keep at least one checkpoint");
        Root = Path.GetFullPath(root);
        Keep = keep;
    }

    public string Root { get; }

    public int Keep { get; }

    public string JobDirectory(string key) => Path.Combine(Root, key);

    public static string CheckpointName(DataCursor cursor) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{cursor.Epoch:D5}-batch-{cursor.Batch:D7}");

    /// <summary>Writes the snapshot as the job's newest checkpoint (atomically) and deletes checkpoints beyond <see cref="Keep"/>.</summary>
    /// <returns>The checkpoint's folder.</returns>
    public string Write(JobSnapshot s)
    {
        var jobDir = JobDirectory(s.JobKey);
        Directory.CreateDirectory(jobDir);
        SealedDirectory.RemoveTemporaries(jobDir);
        var target = Path.Combine(jobDir, CheckpointName(s.Cursor));
        // The same point written again (a resumed job's first checkpoint): the one there already holds it.
        if (Directory.Exists(target)) SealedDirectory.TryDelete(target);
        var meta = new CheckpointMeta
        {
            FormatVersion = FormatVersion,
            JobId = s.JobId,
            JobKey = s.JobKey,
            DataDescription = s.DataDescription,
            Epoch = s.Cursor.Epoch,
            Batch = s.Cursor.Batch,
            Step = s.Cursor.Step,
            WeightsVersion = s.Cursor.WeightsVersion,
            EpochLossSum = s.EpochLossSum,
            EpochRows = s.EpochRows,
            LastLoss = s.LastLoss,
            Finished = s.Finished,
            OptimizerIterations = s.Optimizer.Iterations,
            States = s.States.Count,
            History = [.. s.History.Select(h => new EpochMeta
            {
                Epoch = h.Epoch, Loss = h.Loss, ValidationLoss = h.ValidationLoss,
                Metrics = h.Metrics.ToDictionary(m => m.Name, m => m.Value),
            })],
        };
        var state = new List<KeyValuePair<string, NpyArray>>
        {
            new("optimizer.slot1", NpyArray.FromFloats(s.Optimizer.Slot1)),
            new("optimizer.slot2", NpyArray.FromFloats(s.Optimizer.Slot2)),
        };
        for (int k = 0; k < s.States.Count; k++)
            state.Add(new($"state.{k}", NpyArray.FromFloats(s.States[k].Data, s.States[k].Shape)));
        SealedDirectory.Write(target,
        [
            ("weights.npz", stream => Npz.Write(stream, s.Weights.Select(w => new KeyValuePair<string, NpyArray>(w.Key, NpyArray.FromFloats(w.Value.Data, w.Value.Shape))))),
            ("model.json", stream => WriteText(stream, s.ModelJson)),
            ("state.npz", stream => Npz.Write(stream, state)),
            ("checkpoint.json", stream => JsonSerializer.Serialize(stream, meta, Json)),
            ("job.json", stream => WriteText(stream, s.JobJson)),
        ]);
        Prune(jobDir);
        return target;
    }

    /// <summary>The job's newest checkpoint that verifies, or null; <paramref name="warn"/> hears of every newer one passed over.</summary>
    public JobSnapshot? Latest(string key, Action<string> warn)
    {
        foreach (var dir in Checkpoints(JobDirectory(key)).Reverse())
        {
            try
            {
                return Read(dir, key);
            }
            catch (Exception e) when (IsUnreadable(e))
            {
                warn($"checkpoint {dir} is unusable ({e.Message}); trying the one before it");
            }
        }
        return null;
    }

    /// <summary>Reads one checkpoint folder after checking its checksums and format version.</summary>
    /// <exception cref="CorruptCheckpointException">It is damaged, incomplete, of another format version or of another job.</exception>
    public static JobSnapshot Read(string dir, string? expectedKey = null)
    {
        SealedDirectory.Verify(dir, CheckpointFiles);
        var meta = ReadMeta(Path.Combine(dir, "checkpoint.json"));
        if (expectedKey is not null && meta.JobKey != expectedKey)
            throw new CorruptCheckpointException($"{dir}: belongs to job key {meta.JobKey}, not {expectedKey}");
        var weights = WeightsFile.Load(Path.Combine(dir, "weights.npz"));
        var state = Npz.ReadFile(Path.Combine(dir, "state.npz"));
        float[] Floats(string name) => state.TryGetValue(name, out var a) ? a.ToFloats()
            : throw new CorruptCheckpointException($"{dir}/state.npz has no array '{name}'");
        var states = new List<Tensor>();
        for (int k = 0; k < meta.States; k++)
        {
            var a = state.TryGetValue($"state.{k}", out var found) ? found : throw new CorruptCheckpointException($"{dir}/state.npz has no array 'state.{k}'");
            states.Add(new Tensor(a.ToFloats(), [.. a.Shape]));
        }
        return new JobSnapshot
        {
            JobId = meta.JobId,
            JobKey = meta.JobKey,
            JobJson = File.ReadAllText(Path.Combine(dir, "job.json")),
            ModelJson = File.ReadAllText(Path.Combine(dir, "model.json")),
            DataDescription = meta.DataDescription,
            Cursor = new DataCursor(meta.Epoch, meta.Batch, meta.Step, meta.WeightsVersion),
            EpochLossSum = meta.EpochLossSum,
            EpochRows = meta.EpochRows,
            LastLoss = meta.LastLoss,
            History = [.. meta.History.Select(h => new EpochRecord(h.Epoch, h.Loss, h.ValidationLoss, [.. h.Metrics.Select(m => new NamedMetric(m.Key, m.Value))]))],
            Finished = meta.Finished,
            Weights = weights,
            Optimizer = new OptimizerState(meta.OptimizerIterations, Floats("optimizer.slot1"), Floats("optimizer.slot2")),
            States = states,
        };
    }

    /// <summary>Stores the job's data once (x, y, initial_state{k} in data.npz, readable as an npz data source); a damaged copy is replaced.</summary>
    public void WriteDataOnce(string key, Dataset data, string dataHash)
    {
        var dir = Path.Combine(JobDirectory(key), DataFolder);
        if (Directory.Exists(dir))
        {
            try
            {
                SealedDirectory.Verify(dir, ["data.npz", "data.json"]);
                return;
            }
            catch (CorruptCheckpointException)
            {
                SealedDirectory.TryDelete(dir);
            }
        }
        var arrays = new List<KeyValuePair<string, NpyArray>>
        {
            new("x", NpyArray.FromFloats(data.X.Data, data.X.Shape)),
            new("y", NpyArray.FromFloats(data.Y.Data, data.Y.Shape)),
        };
        for (int k = 0; k < data.InitialStates.Count; k++)
            arrays.Add(new($"initial_state{k}", NpyArray.FromFloats(data.InitialStates[k].Data, data.InitialStates[k].Shape)));
        var meta = new DataMeta { FormatVersion = FormatVersion, Sha256 = dataHash, Description = data.Description, InitialStates = data.InitialStates.Count };
        Directory.CreateDirectory(JobDirectory(key));
        SealedDirectory.Write(dir,
        [
            ("data.npz", stream => Npz.Write(stream, arrays)),
            ("data.json", stream => JsonSerializer.Serialize(stream, meta, Json)),
        ]);
    }

    /// <summary>The job's stored data, checked against its checksums and its hash.</summary>
    /// <exception cref="CorruptCheckpointException">Missing or damaged.</exception>
    public Dataset ReadData(string key)
    {
        var dir = Path.Combine(JobDirectory(key), DataFolder);
        try
        {
            SealedDirectory.Verify(dir, ["data.npz", "data.json"]);
            var meta = JsonSerializer.Deserialize<DataMeta>(File.ReadAllText(Path.Combine(dir, "data.json")), Json)
                ?? throw new CorruptCheckpointException($"{dir}/data.json is empty");
            CheckVersion(meta.FormatVersion, Path.Combine(dir, "data.json"));
            var arrays = Npz.ReadFile(Path.Combine(dir, "data.npz"));
            Tensor Get(string name) => arrays.TryGetValue(name, out var a) ? new Tensor(a.ToFloats(), [.. a.Shape])
                : throw new CorruptCheckpointException($"{dir}/data.npz has no array '{name}'");
            var data = new Dataset(Get("x"), Get("y"), [.. Enumerable.Range(0, meta.InitialStates).Select(k => Get($"initial_state{k}"))], meta.Description);
            var hash = JobKey.DataHash(data);
            if (hash != meta.Sha256) throw new CorruptCheckpointException($"{dir}: the data's hash {hash[..12]}... is not the recorded {meta.Sha256[..Math.Min(12, meta.Sha256.Length)]}...");
            return data;
        }
        catch (Exception e) when (IsUnreadable(e) && e is not CorruptCheckpointException)
        {
            throw new CorruptCheckpointException($"{dir}: {e.Message}");
        }
    }

    /// <summary>Records that the job failed or was stopped: a coordinator that resumes every unfinished job passes it over.</summary>
    public void MarkEnded(string key, JobState state, string? reason)
    {
        var dir = Path.Combine(JobDirectory(key), EndedFolder);
        SealedDirectory.TryDelete(dir);
        SealedDirectory.Write(dir, [("ended.json", stream => JsonSerializer.Serialize(stream, new EndedMeta { State = state.ToString(), Reason = reason }, Json))]);
    }

    public bool IsEnded(string key) => Directory.Exists(Path.Combine(JobDirectory(key), EndedFolder));

    /// <summary>Forgets the job's checkpoints, data and end mark (<c>--fresh</c>).</summary>
    public void Discard(string key)
    {
        var dir = JobDirectory(key);
        if (!Directory.Exists(dir)) return;
        // Renamed first, so a crash halfway through deleting leaves a temporary folder, not a damaged job.
        var doomed = Path.Combine(Root, $".tmp-discard-{key}-{Guid.NewGuid():N}");
        Directory.Move(dir, doomed);
        SealedDirectory.SyncDirectory(Root);
        SealedDirectory.TryDelete(doomed);
    }

    /// <summary>Keys of the jobs in the folder (one sub-folder each).</summary>
    public IReadOnlyList<string> JobKeys() =>
        Directory.Exists(Root)
            ? [.. Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>().Where(n => !SealedDirectory.IsTemporary(n)).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>A job's checkpoint folders, oldest first.</summary>
    public static IReadOnlyList<string> Checkpoints(string jobDir) =>
        Directory.Exists(jobDir)
            ? [.. Directory.GetDirectories(jobDir).Where(d => Path.GetFileName(d).StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)]
            : [];

    private void Prune(string jobDir)
    {
        var all = Checkpoints(jobDir);
        for (int i = 0; i < all.Count - Keep; i++) SealedDirectory.TryDelete(all[i]);
    }

    private static CheckpointMeta ReadMeta(string path)
    {
        CheckpointMeta? meta;
        try
        {
            meta = JsonSerializer.Deserialize<CheckpointMeta>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new CorruptCheckpointException($"{path}: {e.Message}");
        }
        if (meta is null) throw new CorruptCheckpointException($"{path} is empty");
        CheckVersion(meta.FormatVersion, path);
        return meta;
    }

    private static void CheckVersion(int version, string path)
    {
        if (version != FormatVersion)
            throw new CorruptCheckpointException($"{path} has format version {version}; this program reads version {FormatVersion}");
    }

    private static bool IsUnreadable(Exception e) =>
        e is CorruptCheckpointException or NpyFormatException or IOException or UnauthorizedAccessException or JsonException or ArgumentException or InvalidDataException;

    private static void WriteText(Stream stream, string text)
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        writer.Write(text);
    }

    private sealed class CheckpointMeta
    {
        public int FormatVersion { get; set; }
        public string JobId { get; set; } = "";
        public string JobKey { get; set; } = "";
        public string DataDescription { get; set; } = "";
        public int Epoch { get; set; }
        public int Batch { get; set; }
        public long Step { get; set; }
        public long WeightsVersion { get; set; }
        public double EpochLossSum { get; set; }
        public int EpochRows { get; set; }
        public double LastLoss { get; set; }
        public bool Finished { get; set; }
        public long OptimizerIterations { get; set; }
        public int States { get; set; }
        public List<EpochMeta> History { get; set; } = [];
    }

    private sealed class EpochMeta
    {
        public int Epoch { get; set; }
        public double Loss { get; set; }
        public double? ValidationLoss { get; set; }
        public Dictionary<string, double> Metrics { get; set; } = [];
    }

    private sealed class DataMeta
    {
        public int FormatVersion { get; set; }
        public string Sha256 { get; set; } = "";
        public string Description { get; set; } = "";
        public int InitialStates { get; set; }
    }

    private sealed class EndedMeta
    {
        public string State { get; set; } = "";
        public string? Reason { get; set; }
    }
}
