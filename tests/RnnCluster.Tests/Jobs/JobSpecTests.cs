using RnnCluster.Jobs;
using RnnCluster.Model;
using Xunit;

namespace RnnCluster.Tests.Jobs;

public sealed class JobSpecTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rnncluster-jobspec-" + Guid.NewGuid().ToString("N"));

    public JobSpecTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private const string CsvJob = """
        {
          "name": "csv",
          "model": { "layers": [ { "kind": "gru", "units": 4 }, { "kind": "dense", "units": 2 } ] },
          "data": {
            "source": "csv", "path": "series.csv.gz",
            "columns": [ "a", "b" ], "target_columns": [ "a", "c" ],
            "window": 5, "horizon": 2, "stride": 3, "missing": "interpolate", "scale": "standard"
          },
          "batch_size": 8,
          "epochs": 2,
          "validation_split": 0.25,
          "metrics": [ "mae" ]
        }
        """;

    [Fact]
    public void CsvJob_RoundTripsThroughJson()
    {
        var job = JobSpec.FromJson(CsvJob, "csv.json");
        Assert.Equal(["a", "b"], job.Data.Columns);
        Assert.Equal(["a", "c"], job.Data.EffectiveTargetColumns);
        Assert.Equal(5, job.Data.Window);
        Assert.Equal(2, job.Data.EffectiveHorizon);
        Assert.Equal(3, job.Data.EffectiveStride);
        Assert.Equal("interpolate", job.Data.EffectiveMissing);
        Assert.Equal("standard", job.Data.EffectiveScale);
        var json = job.ToJson();
        Assert.Contains("\"target_columns\"", json);
        Assert.DoesNotContain("\"x_key\"", json); // unset members stay out of the file
        Assert.Equal(json, JobSpec.FromJson(json, "again").ToJson());
    }

    [Fact]
    public void NpzJob_RoundTripsWithKeys()
    {
        const string text = """
            { "model": { "layers": [ { "kind": "simple_rnn", "units": 3 }, { "kind": "dense", "units": 1 } ] },
              "data": { "source": "npz", "path": "d.npz", "x_key": "inputs", "y_key": "targets" },
              "states": { "policy": "from_data" } }
            """;
        var job = JobSpec.FromJson(text, "npz.json");
        Assert.Equal("inputs", job.Data.EffectiveXKey);
        Assert.Equal("targets", job.Data.EffectiveYKey);
        Assert.Equal(job.ToJson(), JobSpec.FromJson(job.ToJson(), "again").ToJson());
    }

    [Fact]
    public void MalformedJson_NamesTheLine()
    {
        const string text = "{\n  \"model\": { \"layers\": [] },\n  \"epochs\": 3\n  \"batch_size\": 4\n}";
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(text, "broken.json"));
        Assert.StartsWith("broken.json: malformed job file (line 4)", e.Message);
    }

    [Fact]
    public void UnknownMember_IsRejected()
    {
        var text = CsvJob.Replace("\"epochs\"", "\"epochz\"");
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(text, "typo.json"));
        Assert.Contains("epochz", e.Message);
        Assert.StartsWith("typo.json: malformed job file", e.Message);
    }

    [Fact]
    public void UnknownDataMember_IsRejected()
    {
        var text = CsvJob.Replace("\"target_columns\"", "\"targets\"");
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(text, "typo.json"));
        Assert.Contains("targets", e.Message);
    }

    [Fact]
    public void BadBatchSize_IsRejected()
    {
        var text = CsvJob.Replace("\"batch_size\": 8", "\"batch_size\": 0");
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(text, "job.json"));
        Assert.Equal("job.json: batch_size must be at least 1, got 0", e.Message);
    }

    [Theory]
    [InlineData("""{ "source": "csv", "columns": ["a"], "window": 3 }""", "job.json: data.path is required for csv data")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "window": 3 }""", "job.json: data.columns (the feature columns) is required for csv windows")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "columns": ["a"] }""", "job.json: csv data needs either data.window (time-series windows) or data.timesteps with data.features (one sequence per row)")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "timesteps": 8, "features": 8 }""", "job.json: data.label_column is required with data.timesteps (one sequence per row)")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "columns": ["a"], "window": 0 }""", "job.json: data.window must be at least 1, got 0")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "columns": ["a"], "window": 3, "missing": "zero" }""", "job.json: data.missing must be \"error\" or \"interpolate\", got \"zero\"")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "columns": ["a"], "window": 3, "scale": "minmax" }""", "job.json: data.scale must be \"none\" or \"standard\", got \"minmax\"")]
    [InlineData("""{ "source": "csv", "path": "a.csv", "columns": ["a"], "window": 3, "x_key": "x" }""", "job.json: data.x_key applies to npz data only (data.source is 'csv')")]
    [InlineData("""{ "source": "npz", "path": "a.npz", "window": 3 }""", "job.json: data.window applies to csv data only (data.source is 'npz')")]
    [InlineData("""{ "source": "npz" }""", "job.json: data.path is required for npz data")]
    [InlineData("""{ "source": "builtin", "builtin": "sine" }""", "job.json: data.builtin: unknown builtin data 'sine' (expected phase_level)")]
    [InlineData("""{ "source": "builtin", "path": "x.csv" }""", "job.json: data.path applies to csv and npz data only (data.source is 'builtin')")]
    [InlineData("""{ "source": "parquet" }""", "job.json: data.source must be \"builtin\", \"csv\" or \"npz\", got \"parquet\"")]
    public void DataSpecErrors_NameTheField(string data, string message)
    {
        var text = $$"""{ "model": { "layers": [ { "kind": "lstm", "units": 2 }, { "kind": "dense", "units": 1 } ] }, "data": {{data}} }""";
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(text, "job.json"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Load_ResolvesTheDataPathAgainstTheJobFolder()
    {
        var jobs = Directory.CreateDirectory(Path.Combine(_dir, "jobs")).FullName;
        var file = Path.Combine(jobs, "j.json");
        File.WriteAllText(file, CsvJob.Replace("series.csv.gz", "../data/series.csv.gz"));
        var job = JobSpec.Load(file);
        Assert.Equal(Path.GetFullPath(Path.Combine(_dir, "data", "series.csv.gz")), Path.GetFullPath(job.Data.Path!));
    }

    [Fact]
    public void Load_MissingJobFile()
    {
        var e = Assert.Throws<JobException>(() => JobSpec.Load(Path.Combine(_dir, "none.json")));
        Assert.Equal($"job file not found: {Path.Combine(_dir, "none.json")}", e.Message);
    }

    [Fact]
    public void ExampleJobs_ParseAndValidate()
    {
        foreach (var name in new[] { "default.json", "co2-stateful.json", "digits.json" })
        {
            var job = JobSpec.Load(JobTestSupport.JobFile(name));
            Assert.True(job.Data.Source is "builtin" || File.Exists(job.Data.Path), $"{name}: {job.Data.Path} does not exist");
        }
        var co2 = JobSpec.Load(JobTestSupport.JobFile("co2-stateful.json"));
        Assert.True(co2.IsStateful);
        Assert.Equal(co2.BatchSize, co2.Data.Streams);
        Assert.False(co2.Shuffle);
        var digits = JobSpec.Load(JobTestSupport.JobFile("digits.json"));
        Assert.IsType<SparseCategoricalCrossentropy>(digits.CreateLoss());
        Assert.Equal(["accuracy"], digits.Metrics);
    }
}
