using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RnnCluster.Coordinator.Http;
using RnnCluster.Data;
using RnnCluster.Tests.Cluster;
using Xunit;

namespace RnnCluster.Tests.Http;

/// <summary>Every endpoint of the HTTP API over real HTTP against a coordinator node with a worker node.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpApiTests(HttpFixture f) : IClassFixture<HttpFixture>
{
    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, string Error)> ErrorOf(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        return (r.StatusCode, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!);
    }

    [Fact]
    public async Task A_job_is_submitted_listed_inspected_streamed_predicted_and_stopped()
    {
        var id = await f.SubmitAsync(HttpFixture.JobJson(epochs: 1000));
        var jobs = await f.GetJsonAsync("/api/jobs");
        Assert.Contains(jobs.EnumerateArray(), j => j.GetProperty("job_id").GetString() == id);

        var cluster = await f.GetJsonAsync("/api/cluster");
        Assert.Equal(1, cluster.GetProperty("workers").GetInt32());
        Assert.Contains(cluster.GetProperty("jobs").EnumerateArray(), j => j.GetString() == id);
        var roles = cluster.GetProperty("nodes").EnumerateArray().SelectMany(n => n.GetProperty("roles").EnumerateArray().Select(r => r.GetString())).ToList();
        Assert.Contains("coordinator", roles);
        Assert.Contains("worker", roles);

        var running = await f.WaitForAsync(id, s => s.GetProperty("weights_version").GetInt64() >= 3, "three steps");
        Assert.Equal("running", running.GetProperty("state").GetString());
        Assert.True(running.GetProperty("last_loss").GetDouble() > 0);

        // The event stream: the same step events the .NET client gets, in order.
        using (var cancel = new CancellationTokenSource(HttpFixture.Wait))
        using (var stream = await f.Http.GetAsync($"/api/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(cancel.Token));
            var steps = new List<JsonElement>();
            string? eventName = null;
            while (steps.Count < 3 && await reader.ReadLineAsync(cancel.Token) is { } line)
            {
                if (line.StartsWith("event: ")) eventName = line[7..];
                else if (line.StartsWith("data: ") && eventName == "step") steps.Add(JsonDocument.Parse(line[6..]).RootElement.Clone());
            }
            Assert.Equal(3, steps.Count);
            var global = steps.Select(s => s.GetProperty("epoch").GetInt32() * s.GetProperty("steps_per_epoch").GetInt32() + s.GetProperty("step").GetInt32()).ToList();
            Assert.Equal([global[0], global[0] + 1, global[0] + 2], global);
            Assert.All(steps, s => Assert.Equal(32, s.GetProperty("rows").GetInt32()));
        }

        var history = await f.GetJsonAsync($"/api/jobs/{id}/history");
        Assert.True(history.GetProperty("points").GetArrayLength() >= 3);
        long seq = history.GetProperty("last_seq").GetInt64();
        var later = await f.GetJsonAsync($"/api/jobs/{id}/history?since={seq}");
        Assert.All(later.GetProperty("points").EnumerateArray(), p => Assert.True(p.GetProperty("seq").GetInt64() > seq));

        // Predict: the builtin data has one feature; three do not fit the model.
        var (wrongStatus, wrongError) = await ErrorOf(await f.Http.PostAsync($"/api/jobs/{id}/predict", Json("""{"x": [[[0.5, 0.5, 0.5]]]}""")));
        Assert.Equal(HttpStatusCode.BadRequest, wrongStatus);
        Assert.NotEmpty(wrongError);
        var x = string.Join(",", Enumerable.Range(0, 2).Select(r => "[" + string.Join(",", Enumerable.Range(0, 10).Select(t => $"[{Math.Sin(0.3 * t + r):0.000}]")) + "]"));
        var predicted = await f.Http.PostAsync($"/api/jobs/{id}/predict", Json($$"""{"x": [{{x}}]}"""));
        var predictedBody = await predicted.Content.ReadAsStringAsync();
        Assert.True(predicted.IsSuccessStatusCode, predictedBody);
        var output = JsonDocument.Parse(predictedBody).RootElement;
        Assert.Equal([2, 1], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(2, output.GetProperty("output").GetArrayLength());
        Assert.Equal(2, output.GetProperty("final_states").GetArrayLength()); // the LSTM's h and c

        // Weights out as npz, then back in: the version moves on.
        var weights = await f.Http.GetAsync($"/api/jobs/{id}/weights");
        Assert.Equal(HttpStatusCode.OK, weights.StatusCode);
        var npz = await weights.Content.ReadAsByteArrayAsync();
        var arrays = Npz.Read(new MemoryStream(npz), "download");
        Assert.Contains("layer0.recurrent_kernel", arrays.Keys);
        var put = await f.Http.PutAsync($"/api/jobs/{id}/weights", new ByteArrayContent(npz));
        var putBody = await put.Content.ReadAsStringAsync();
        Assert.True(put.IsSuccessStatusCode, putBody);
        Assert.True(JsonDocument.Parse(putBody).RootElement.GetProperty("weights_version").GetInt64() > 0);

        // Not stateful: nothing to reset, and the coordinator says so.
        var (resetStatus, resetError) = await ErrorOf(await f.Http.PostAsync($"/api/jobs/{id}/reset-states", Json("{}")));
        Assert.Equal(HttpStatusCode.BadRequest, resetStatus);
        Assert.Contains("not stateful", resetError);

        await f.StopAsync(id);
        var stopped = await f.GetJsonAsync($"/api/jobs/{id}");
        Assert.Equal("stopped", stopped.GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_stateful_job_resets_its_states()
    {
        var id = await f.SubmitAsync(HttpFixture.JobJson(epochs: 1000, policy: "stateful", shuffle: false));
        await f.WaitForAsync(id, s => s.GetProperty("weights_version").GetInt64() >= 1, "a step");
        var all = await f.Http.PostAsync($"/api/jobs/{id}/reset-states", Json("{}"));
        Assert.True(all.IsSuccessStatusCode, await all.Content.ReadAsStringAsync());
        var some = await f.Http.PostAsync($"/api/jobs/{id}/reset-states", Json("""{"layer": 0, "rows": [0, 3]}"""));
        Assert.True(some.IsSuccessStatusCode, await some.Content.ReadAsStringAsync());
        var (status, error) = await ErrorOf(await f.Http.PostAsync($"/api/jobs/{id}/reset-states", Json("""{"rows": [100000]}""")));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("reset states", error);
        await f.StopAsync(id);
    }

    [Fact]
    public async Task A_job_with_uploaded_npz_data_trains_to_the_end()
    {
        // 64 rows of x (64, 5, 2) and y (64, 1): y is the sum of x over time and features.
        var rng = new Random(3);
        var x = Enumerable.Range(0, 64 * 5 * 2).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, 64).Select(r => x.Skip(r * 10).Take(10).Sum()).ToArray();
        var npz = new MemoryStream();
        Npz.Write(npz, [new("x", NpyArray.FromFloats(x, [64, 5, 2])), new("y", NpyArray.FromFloats(y, [64, 1]))]);
        var job = """
            {"name": "upload", "model": {"layers": [{"kind": "simple_rnn", "units": 4}, {"kind": "dense", "units": 1}]},
             "loss": "mse", "batch_size": 16, "epochs": 2, "validation_split": 0, "seed": 1}
            """;
        using var form = new MultipartFormDataContent
        {
            { new StringContent(job), "job" },
            { new ByteArrayContent(npz.ToArray()), "data", "sums.npz" },
        };
        var response = await f.Http.PostAsync("/api/jobs", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("job_id").GetString()!;
        var done = await f.WaitForAsync(id, s => s.GetProperty("state").GetString() is "finished" or "failed", "the end");
        Assert.Equal("finished", done.GetProperty("state").GetString());
        var history = await f.WaitForHistoryAsync(id);
        Assert.Equal(2 * 64 / 16, history.GetProperty("steps").GetInt64());
        Assert.Equal(2, history.GetProperty("epochs").GetArrayLength());
    }

    [Fact]
    public async Task Bad_input_gets_a_4xx_with_a_message_and_the_coordinator_stays_up()
    {
        var (s1, e1) = await ErrorOf(await f.Http.PostAsync("/api/jobs", Json("{\"name\": \"x\", \"model\": ")));
        Assert.Equal(HttpStatusCode.BadRequest, s1);
        Assert.Contains("malformed job file", e1);

        var (s2, e2) = await ErrorOf(await f.Http.PostAsync("/api/jobs", Json(HttpFixture.JobJson(epochs: 0))));
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Contains("epochs must be at least 1", e2);

        var (s3, e3) = await ErrorOf(await f.Http.PostAsync("/api/jobs", Json("")));
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Contains("empty", e3);

        var missing = """
            {"name": "missing", "model": {"layers": [{"kind": "gru", "units": 4}, {"kind": "dense", "units": 1}]},
             "data": {"source": "npz", "path": "/nonexistent/data.npz"}}
            """;
        var (s4, e4) = await ErrorOf(await f.Http.PostAsync("/api/jobs", Json(missing)));
        Assert.Equal(HttpStatusCode.BadRequest, s4);
        Assert.Contains("/nonexistent/data.npz", e4);

        foreach (var (method, path) in new[] { ("GET", "/api/jobs/nope"), ("POST", "/api/jobs/nope/stop"), ("GET", "/api/jobs/nope/weights"),
                     ("GET", "/api/jobs/nope/events"), ("GET", "/api/jobs/nope/history") })
        {
            var (status, error) = await ErrorOf(await f.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)));
            Assert.True(status == HttpStatusCode.NotFound, $"{method} {path}: {(int)status} {error}");
            Assert.Contains("unknown job 'nope'", error);
        }
        var (s5, e5) = await ErrorOf(await f.Http.PostAsync("/api/jobs/nope/predict", Json("""{"x": [[[1]]]}""")));
        Assert.Equal(HttpStatusCode.NotFound, s5);
        Assert.Contains("unknown job", e5);

        var (s6, e6) = await ErrorOf(await f.Http.PostAsync("/api/jobs/nope/predict", Json("""{"x": [[1, 2], [3]]}""")));
        Assert.Equal(HttpStatusCode.BadRequest, s6);
        Assert.Contains("x", e6);

        var (s7, e7) = await ErrorOf(await f.Http.PostAsync("/api/jobs/nope/reset-states", Json("[1, 2")));
        Assert.Equal(HttpStatusCode.BadRequest, s7);
        Assert.Contains("malformed JSON", e7);

        var (s8, e8) = await ErrorOf(await f.Http.PutAsync("/api/jobs/nope/weights", new ByteArrayContent(Encoding.UTF8.GetBytes("not a zip"))));
        Assert.Equal(HttpStatusCode.BadRequest, s8);
        Assert.Contains("npz", e8);

        // Oversized: declared (Content-Length) and streamed (chunked, no length) both get 413.
        var big = new byte[HttpFixture.UploadLimit + 1];
        // Declared lengths are sent with Expect: 100-continue, as a careful client does: the server
        // refuses on the header, before the body, and the client never writes into a closed socket.
        var put = new HttpRequestMessage(HttpMethod.Put, "/api/jobs/nope/weights") { Content = new ByteArrayContent(big) };
        put.Headers.ExpectContinue = true;
        var (s9, e9) = await ErrorOf(await f.Http.SendAsync(put));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, s9);
        Assert.Contains($"limit is {HttpFixture.UploadLimit} bytes", e9);
        var chunked = new StreamContent(new MemoryStream(big));
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        // Streamed past the limit: 413 with a message, or, when the client is still sending as the
        // server refuses, the connection closed (Kestrel reads no further than the limit).
        try
        {
            var (s10, e10) = await ErrorOf(await f.Http.SendAsync(request));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, s10);
            Assert.NotEmpty(e10);
        }
        catch (HttpRequestException) { }
        using var form = new MultipartFormDataContent { { new StringContent("{}"), "job" }, { new ByteArrayContent(big), "data", "big.npz" } };
        var upload = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = form };
        upload.Headers.ExpectContinue = true;
        var (s11, _) = await ErrorOf(await f.Http.SendAsync(upload));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, s11);

        var cluster = await f.GetJsonAsync("/api/cluster");
        Assert.Equal(1, cluster.GetProperty("workers").GetInt32());
    }

    [Fact]
    public async Task The_OpenAPI_document_names_every_route_the_server_maps()
    {
        var doc = await f.GetJsonAsync(HttpApi.OpenApiPath);
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        var documented = doc.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}")).ToHashSet();
        var mapped = f.Api.Routes.ToHashSet();
        Assert.NotEmpty(mapped);
        Assert.Empty(mapped.Except(documented));
        Assert.Empty(documented.Except(mapped));
    }

    [Fact]
    public async Task Metrics_parse_as_Prometheus_text_and_the_step_phases_add_up_to_the_step_time()
    {
        var id = await f.SubmitAsync(HttpFixture.JobJson(epochs: 2));
        await f.WaitForAsync(id, s => s.GetProperty("state").GetString() is "finished" or "failed", "the end");
        var deadline = Stopwatch.StartNew();
        List<PrometheusText.Sample> samples;
        double Sum(string name, Func<IReadOnlyDictionary<string, string>, bool> match) =>
            samples.Where(s => s.Name == name && s.Labels.GetValueOrDefault("job") == id && match(s.Labels)).Sum(s => s.Value);
        while (true)
        {
            var text = await f.Http.GetStringAsync("/metrics");
            samples = PrometheusText.Parse(text);
            // The exporter may serve a cached scrape for a moment: wait until every step of the job is in.
            if (Sum("rnncluster_steps_total", _ => true) == 16 || deadline.Elapsed > HttpFixture.Wait) break;
            await Task.Delay(200);
        }
        Assert.Equal(16, Sum("rnncluster_steps_total", _ => true));
        Assert.Equal(16 * 32, Sum("rnncluster_samples_total", _ => true));
        Assert.Equal(16, Sum("rnncluster_step_duration_seconds_count", _ => true));
        double step = Sum("rnncluster_step_duration_seconds_sum", _ => true);
        var phases = new[] { "dispatch", "compute", "aggregation" }
            .ToDictionary(p => p, p => Sum("rnncluster_step_phase_duration_seconds_sum", l => l.GetValueOrDefault("phase") == p));
        Assert.All(phases.Keys, p => Assert.Equal(16, Sum("rnncluster_step_phase_duration_seconds_count", l => l.GetValueOrDefault("phase") == p)));
        Assert.True(step > 0);
        Assert.True(phases["compute"] > 0, "the workers' part of a step takes time");
        Assert.True(Math.Abs(phases.Values.Sum() - step) <= 0.05 * step, $"phases {string.Join(", ", phases)} add up to {phases.Values.Sum()} s; the steps took {step} s");
        Assert.True(Sum("rnncluster_shard_bytes_total", l => l.GetValueOrDefault("direction") == "out") >= 16 * 32 * 10 * 4, "x alone is rows x timesteps x 4 bytes per step");
        Assert.True(Sum("rnncluster_shard_bytes_total", l => l.GetValueOrDefault("direction") == "in") > 0);
        Assert.Contains(samples, s => s.Name.StartsWith("rnncluster_gc_pause", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name == "rnncluster_loss" && s.Labels.GetValueOrDefault("job") == id && s.Value > 0);
        Assert.Contains(samples, s => s.Name == "rnncluster_workers" && s.Value == 1);
    }

    [Fact]
    public async Task The_README_Python_example_submits_the_default_job_and_follows_it_to_the_end()
    {
        var script = ReadmeExample();
        var folder = Directory.CreateTempSubdirectory("rnncluster-python-");
        try
        {
            var path = Path.Combine(folder.FullName, "follow.py");
            await File.WriteAllTextAsync(path, script);
            var start = new ProcessStartInfo("python3") { WorkingDirectory = folder.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { path, f.Api.Url, "1" }) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"the example did not end within 120 s: {await stdout}");
            }
            var output = await stdout;
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {output} {await stderr}");
            Assert.Contains("submitted", output);
            Assert.Matches(@"epoch 1/1: loss \d", output);
            Assert.Contains("finished, weights version", output);
            var npz = Npz.ReadFile(Path.Combine(folder.FullName, "weights.npz"));
            Assert.Contains("layer0.recurrent_kernel", npz.Keys);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The Python block after the marker in README.md (the test runs what the README shows).</summary>
    private static string ReadmeExample()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "README.md"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
        const string marker = "<!-- http-python-example -->";
        int at = readme.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, "README.md has no " + marker);
        int start = readme.IndexOf("```python\n", at, StringComparison.Ordinal) + "```python\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end];
    }
}
