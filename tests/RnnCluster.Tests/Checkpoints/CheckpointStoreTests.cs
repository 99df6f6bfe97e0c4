using RnnCluster.Checkpoints;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using Xunit;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>The checkpoint writer and reader without actors: round trips, damage, versions, retention.</summary>
public sealed class CheckpointStoreTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rnncluster-ckpt-");

    public void Dispose() => _root.Delete(recursive: true);

    private CheckpointStore Store(int keep = 2) => new(_root.FullName, keep);

    private static readonly ModelSpec Model = new()
    {
        InputFeatures = 2,
        Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = 3 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }],
    };

    /// <summary>A snapshot with distinct values everywhere (weights from the model's own initializer), at <paramref name="cursor"/>.</summary>
    private static JobSnapshot Snapshot(DataCursor cursor, string key = "job-0123456789abcdef")
    {
        var model = Sequential.FromSpec(Model, new ManagedKernels(), seed: 5);
        int n = model.Network.ParameterCount;
        return new JobSnapshot
        {
            JobId = "job-1",
            JobKey = key,
            JobJson = "{ \"name\": \"job\" }",
            ModelJson = Model.ToJson(),
            DataDescription = "test data",
            Cursor = cursor,
            EpochLossSum = 1.0 / 3,
            EpochRows = 12,
            LastLoss = double.NaN,
            History = [new EpochRecord(0, 0.5, 0.25, [new NamedMetric("val_mae", 0.125)]), new EpochRecord(1, 0.1, null, [])],
            Finished = false,
            Weights = model.GetWeights(),
            Optimizer = new OptimizerState(cursor.Step, [.. Enumerable.Range(0, n).Select(i => i * 0.5f)], [.. Enumerable.Range(0, n).Select(i => -i * 0.25f)]),
            States = [new Tensor([1f, 2f, 3f, 4f, 5f, 6f], 2, 3), new Tensor([-1f, -2f, -3f, -4f, -5f, -6f], 2, 3)],
        };
    }

    private static void AssertSame(JobSnapshot expected, JobSnapshot actual)
    {
        Assert.Equal(expected.JobId, actual.JobId);
        Assert.Equal(expected.JobKey, actual.JobKey);
        Assert.Equal(expected.JobJson, actual.JobJson);
        Assert.Equal(expected.ModelJson, actual.ModelJson);
        Assert.Equal(expected.Cursor, actual.Cursor);
        Assert.Equal(expected.EpochLossSum, actual.EpochLossSum);
        Assert.Equal(expected.EpochRows, actual.EpochRows);
        Assert.Equal(expected.LastLoss, actual.LastLoss);
        Assert.Equal(expected.History.Count, actual.History.Count);
        for (int i = 0; i < expected.History.Count; i++)
        {
            Assert.Equal(expected.History[i] with { Metrics = [] }, actual.History[i] with { Metrics = [] });
            Assert.Equal(expected.History[i].Metrics, actual.History[i].Metrics);
        }
        Assert.Equal(expected.Weights.Select(w => w.Key), actual.Weights.Select(w => w.Key));
        for (int i = 0; i < expected.Weights.Count; i++)
        {
            Assert.Equal(expected.Weights[i].Value.Shape, actual.Weights[i].Value.Shape);
            Assert.Equal(expected.Weights[i].Value.Data, actual.Weights[i].Value.Data);
        }
        Assert.Equal(expected.Optimizer.Iterations, actual.Optimizer.Iterations);
        Assert.Equal(expected.Optimizer.Slot1, actual.Optimizer.Slot1);
        Assert.Equal(expected.Optimizer.Slot2, actual.Optimizer.Slot2);
        Assert.Equal(expected.States.Count, actual.States.Count);
        for (int k = 0; k < expected.States.Count; k++)
        {
            Assert.Equal(expected.States[k].Shape, actual.States[k].Shape);
            Assert.Equal(expected.States[k].Data, actual.States[k].Data);
        }
    }

    [Fact]
    public void A_snapshot_comes_back_exactly_and_its_weights_are_a_usable_Keras_layout_model()
    {
        var store = Store();
        var snapshot = Snapshot(new DataCursor(2, 5, 17, 18));
        var dir = store.Write(snapshot);

        var warnings = new List<string>();
        var read = store.Latest(snapshot.JobKey, warnings.Add);
        Assert.NotNull(read);
        AssertSame(snapshot, read);
        Assert.Empty(warnings);
        Assert.Equal("epoch-00002-batch-0000005", Path.GetFileName(dir));

        // weights.npz + model.json: loadable as a model, with the Keras names.
        var model = Sequential.FromSpec(ModelSpec.FromJson(File.ReadAllText(Path.Combine(dir, "model.json")), "model.json"), new ManagedKernels());
        model.LoadInto(Path.Combine(dir, "weights.npz"));
        Assert.Equal(snapshot.Weights.Select(w => w.Value.Data), model.GetWeights().Select(w => w.Value.Data));
        Assert.Contains(snapshot.Weights, w => w.Key == "layer0.recurrent_kernel");
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "weights.npz", "flip" },
        { "state.npz", "truncate" },
        { "checkpoint.json", "flip" },
        { "job.json", "delete" },
        { "SHA256SUMS", "truncate" },
        { "SHA256SUMS", "delete" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_damaged_newest_checkpoint_is_passed_over_with_a_warning_for_the_previous_one(string file, string how)
    {
        var store = Store();
        var older = Snapshot(new DataCursor(1, 0, 10, 10));
        store.Write(older);
        var newest = store.Write(Snapshot(new DataCursor(1, 4, 14, 14)));
        var path = Path.Combine(newest, file);
        switch (how)
        {
            case "flip":
                var bytes = File.ReadAllBytes(path);
                bytes[bytes.Length / 2] ^= 0x01;
                File.WriteAllBytes(path, bytes);
                break;
            case "truncate":
                var all = File.ReadAllBytes(path);
                File.WriteAllBytes(path, all[..(all.Length / 2)]);
                break;
            default:
                File.Delete(path);
                break;
        }

        var warnings = new List<string>();
        var read = store.Latest(older.JobKey, warnings.Add);

        Assert.NotNull(read);
        AssertSame(older, read);
        var warning = Assert.Single(warnings);
        Assert.Contains("epoch-00001-batch-0000004", warning);
        Assert.Contains("unusable", warning);
    }

    [Fact]
    public void Another_format_version_is_named_with_both_versions_and_passed_over()
    {
        var store = Store();
        var older = Snapshot(new DataCursor(0, 3, 3, 3));
        store.Write(older);
        var newest = store.Write(Snapshot(new DataCursor(0, 6, 6, 6)));
        // A checkpoint written by a later program: version 2, checksums consistent.
        var json = Path.Combine(newest, "checkpoint.json");
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"format_version\": 1", "\"format_version\": 2"));
        var sums = File.ReadAllLines(Path.Combine(newest, SealedDirectory.SumsFile))
            .Select(l => l.EndsWith("  checkpoint.json") ? $"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(json)))}  checkpoint.json" : l);
        File.WriteAllLines(Path.Combine(newest, SealedDirectory.SumsFile), sums);

        var warnings = new List<string>();
        var read = store.Latest(older.JobKey, warnings.Add);

        Assert.Equal(older.Cursor, read!.Cursor);
        Assert.Contains("format version 2; this program reads version 1", Assert.Single(warnings));
    }

    [Fact]
    public void Only_the_newest_checkpoints_are_kept_and_interrupted_writes_are_ignored_then_removed()
    {
        var store = Store(keep: 2);
        var key = Snapshot(DataCursor.Start).JobKey;
        // What a crash between write and rename leaves behind.
        var jobDir = store.JobDirectory(key);
        Directory.CreateDirectory(Path.Combine(jobDir, ".tmp-epoch-00009-batch-0000000-deadbeef"));
        File.WriteAllText(Path.Combine(jobDir, ".tmp-epoch-00009-batch-0000000-deadbeef", "weights.npz"), "half");
        Assert.Null(store.Latest(key, _ => Assert.Fail("a temporary folder is not a checkpoint")));

        foreach (var batch in new[] { 1, 2, 3, 11 }) store.Write(Snapshot(new DataCursor(0, batch, batch, batch)));

        Assert.Equal(["epoch-00000-batch-0000003", "epoch-00000-batch-0000011"], CheckpointStore.Checkpoints(jobDir).Select(Path.GetFileName));
        Assert.DoesNotContain(Directory.GetDirectories(jobDir), d => SealedDirectory.IsTemporary(Path.GetFileName(d)));
        Assert.Equal(11, store.Latest(key, _ => { })!.Cursor.Batch);
    }

    [Fact]
    public void Checkpoints_sort_by_epoch_then_batch()
    {
        var store = Store(keep: 5);
        foreach (var c in new[] { new DataCursor(0, 30, 30, 30), new DataCursor(1, 0, 31, 31), new DataCursor(1, 2, 33, 33) }) store.Write(Snapshot(c));
        Assert.Equal(new DataCursor(1, 2, 33, 33), store.Latest(Snapshot(DataCursor.Start).JobKey, _ => { })!.Cursor);
    }

    [Fact]
    public void The_data_is_stored_once_checked_by_hash_and_a_damaged_copy_is_reported()
    {
        var store = Store();
        var data = new Dataset(new Tensor([1f, 2f, 3f, 4f, 5f, 6f], 3, 1, 2), new Tensor([7f, 8f, 9f], 3, 1), [new Tensor([0.5f, 0.25f, 0.125f], 3, 1)], "three rows");
        var hash = JobKey.DataHash(data);
        store.WriteDataOnce("k", data, hash);
        var file = Path.Combine(store.JobDirectory("k"), "data", "data.npz");
        var written = File.GetLastWriteTimeUtc(file);
        store.WriteDataOnce("k", data, hash); // already there: not written again
        Assert.Equal(written, File.GetLastWriteTimeUtc(file));

        var read = store.ReadData("k");
        Assert.Equal(data.X.Data, read.X.Data);
        Assert.Equal(data.Y.Shape, read.Y.Shape);
        Assert.Equal(data.InitialStates[0].Data, read.InitialStates[0].Data);
        Assert.Equal(hash, JobKey.DataHash(read));
        // data.npz is an npz data source: x, y, initial_state0.
        Assert.Equal(["x", "y", "initial_state0"], RnnCluster.Data.Npz.ReadFile(file).Keys);

        var bytes = File.ReadAllBytes(file);
        bytes[^40] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        var e = Assert.Throws<CorruptCheckpointException>(() => store.ReadData("k"));
        Assert.Contains("data.npz", e.Message);
        store.WriteDataOnce("k", data, hash); // a damaged copy is replaced
        Assert.Equal(hash, JobKey.DataHash(store.ReadData("k")));
    }

    [Fact]
    public void The_key_follows_the_spec_and_the_data_and_survives_a_json_round_trip()
    {
        var job = DefaultJob.Spec with { Data = DefaultJob.Spec.Data with { Rows = 64 }, MinWorkers = 2 };
        var data = DataLoader.Load(job, job.Name);
        var key = JobKey.Of(job.Name, job.ToJson(), data);

        Assert.StartsWith("default-", key);
        Assert.Equal(key, JobKey.Of(job.Name, JobSpec.FromJson(job.ToJson(), "job").ToJson(), data));
        Assert.NotEqual(key, JobKey.Of(job.Name, (job with { Seed = job.Seed + 1 }).ToJson(), data));
        var changed = data with { Y = new Tensor((float[])data.Y.Data.Clone(), data.Y.Shape) };
        changed.Y.Data[3] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(changed.Y.Data[3]) ^ 1);
        Assert.NotEqual(key, JobKey.Of(job.Name, job.ToJson(), changed));
    }

    [Fact]
    public void Discard_forgets_a_job_and_marks_record_an_end()
    {
        var store = Store();
        var s = Snapshot(new DataCursor(0, 1, 1, 1));
        store.Write(s);
        Assert.False(store.IsEnded(s.JobKey));
        store.MarkEnded(s.JobKey, JobState.Stopped, "stopped on request");
        Assert.True(store.IsEnded(s.JobKey));
        Assert.Equal([s.JobKey], store.JobKeys());

        store.Discard(s.JobKey);

        Assert.Null(store.Latest(s.JobKey, _ => { }));
        Assert.Empty(store.JobKeys());
        Assert.False(store.IsEnded(s.JobKey));
    }

    [Fact]
    public void The_policy_writes_each_epoch_by_default_and_every_N_steps_when_asked()
    {
        var mid = new DataCursor(0, 4, 4, 4);
        Assert.True(CheckpointPolicy.Default.IsDue(mid.AfterEpoch(), epochEnded: true));
        Assert.False(CheckpointPolicy.Default.IsDue(mid, epochEnded: false));
        var every2 = CheckpointPolicy.Parse("2");
        Assert.True(every2.IsDue(mid, epochEnded: false));
        Assert.False(every2.IsDue(mid.AfterStep(), epochEnded: false));
        Assert.True(every2.IsDue(mid, epochEnded: true));
        Assert.Equal(CheckpointPolicy.Default, CheckpointPolicy.Parse("epoch"));
        Assert.Contains("'0'", Assert.Throws<ArgumentException>(() => CheckpointPolicy.Parse("0")).Message);
        Assert.Equal(new DataCursor(1, 0, 5, 5), mid.AfterStep().AfterEpoch());
    }
}
