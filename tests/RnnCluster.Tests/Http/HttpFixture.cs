using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RnnCluster.Coordinator.Http;
using RnnCluster.Tests.Cluster;
using Xunit;

namespace RnnCluster.Tests.Http;

/// <summary>
/// A real coordinator node with one worker node (loopback, port 0) and the HTTP API on a free
/// port, with a small upload limit so the 413 path is cheap to reach. Shared by the API tests.
/// </summary>
public sealed class HttpFixture : IAsyncLifetime
{
    public const long UploadLimit = 256 * 1024;
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private InProcessCluster? _cluster;

    public HttpApi Api { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _cluster = await InProcessCluster.StartAsync(workers: 1);
        Api = await HttpApi.StartAsync(new HttpApiOptions { Port = 0, MaxUploadBytes = UploadLimit, PollEvery = TimeSpan.FromMilliseconds(200) },
            _cluster.Client, HttpApi.ClusterNodes(_cluster.Coordinator.System));
        Http = new HttpClient { BaseAddress = new Uri(Api.Url), Timeout = Wait };
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Api is not null) await Api.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    /// <summary>The default job on fewer rows; <paramref name="epochs"/> large keeps it running until stopped.</summary>
    public static string JobJson(int epochs, int rows = 256, string policy = "from_data", bool shuffle = true) => $$"""
        {
          "name": "http-test",
          "model": { "layers": [ { "kind": "lstm", "units": 8 }, { "kind": "dense", "units": 1 } ] },
          "loss": "mse",
          "optimizer": { "kind": "adam", "learning_rate": 0.01 },
          "data": { "source": "builtin", "builtin": "phase_level", "rows": {{rows}}, "timesteps": 10 },
          "batch_size": 32,
          "epochs": {{epochs}},
          "validation_split": 0,
          "shuffle": {{(shuffle ? "true" : "false")}},
          "states": { "policy": "{{policy}}" },
          "seed": 7
        }
        """;

    public async Task<string> SubmitAsync(string json)
    {
        using var response = await Http.PostAsync("/api/jobs", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("job_id").GetString()!;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Polls the job until <paramref name="until"/> holds for its status, within <see cref="Wait"/>.</summary>
    public async Task<JsonElement> WaitForAsync(string jobId, Func<JsonElement, bool> until, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = await GetJsonAsync($"/api/jobs/{jobId}");
            if (until(status)) return status;
            if (deadline.Elapsed > Wait) Assert.Fail($"job {jobId}: {what} not reached within {Wait.TotalSeconds} s; last status {status}");
            await Task.Delay(100);
        }
    }

    /// <summary>The tracker's history once it has seen the job end (its events may trail the status by a moment).</summary>
    public async Task<JsonElement> WaitForHistoryAsync(string jobId)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var history = await GetJsonAsync($"/api/jobs/{jobId}/history");
            if (history.GetProperty("state").GetString() != "running") return history;
            if (deadline.Elapsed > Wait) Assert.Fail($"job {jobId}: the history did not see the end within {Wait.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    public async Task StopAsync(string jobId)
    {
        using var r = await Http.PostAsync($"/api/jobs/{jobId}/stop", null);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        await WaitForAsync(jobId, s => s.GetProperty("state").GetString() is "stopped" or "finished" or "failed", "an end");
    }
}

/// <summary>A Prometheus text-format (0.0.4) reader: samples by name and labels; throws on a line it cannot read.</summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        int lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                if (!CommentLine().IsMatch(line)) throw new FormatException($"line {lineNumber}: bad comment '{line}'");
                continue;
            }
            var m = SampleLine().Match(line);
            if (!m.Success) throw new FormatException($"line {lineNumber}: not a sample: '{line}'");
            var labels = new Dictionary<string, string>();
            if (m.Groups["labels"].Success && m.Groups["labels"].Value.Length > 0)
            {
                var rest = m.Groups["labels"].Value;
                var pairs = LabelPair().Matches(rest);
                if (string.Concat(pairs.Select(p => p.Value)).Length != rest.Length)
                    throw new FormatException($"line {lineNumber}: bad labels '{rest}'");
                foreach (Match p in pairs) labels[p.Groups[1].Value] = Regex.Unescape(p.Groups[2].Value);
            }
            var valueText = m.Groups["value"].Value;
            double value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(m.Groups["name"].Value, labels, value));
        }
        return samples;
    }

    [GeneratedRegex(@"^# (HELP|TYPE|UNIT|EOF)( .*)?$")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)( -?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)"",?")]
    private static partial Regex LabelPair();
}
