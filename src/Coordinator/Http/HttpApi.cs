using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using RnnCluster.Client;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Metrics;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Http;

/// <summary>Where the HTTP API listens and what it accepts.</summary>
public sealed record HttpApiOptions
{
    /// <summary>The environment variable that turns the API on when <c>--http-port</c> is not given.</summary>
    public const string PortVariable = "RNNCLUSTER_HTTP_PORT";

    public const long DefaultMaxUploadBytes = 256L << 20;

    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0: any free port (see <see cref="HttpApi.Url"/>).</summary>
    public int Port { get; init; }

    /// <summary>The largest request body (job upload, weights, predict input); larger ones get 413.</summary>
    public long MaxUploadBytes { get; init; } = DefaultMaxUploadBytes;

    /// <summary>How often the job list is read to follow jobs submitted by other clients.</summary>
    public TimeSpan PollEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The port from --http-port, else from <see cref="PortVariable"/>, else null (the API is off).</summary>
    /// <exception cref="JobException">The variable is not a port number.</exception>
    public static int? PortFrom(int? option)
    {
        if (option is not null) return option;
        var text = Environment.GetEnvironmentVariable(PortVariable);
        if (string.IsNullOrWhiteSpace(text)) return null;
        return int.TryParse(text, out int port) && port is >= 0 and <= 65535
            ? port
            : throw new JobException($"{PortVariable}={text}: expected a port number (0 to 65535)");
    }
}

/// <summary>A cluster member as the API lists it.</summary>
public sealed record NodeView(string Address, IReadOnlyList<string> Roles, string Status);

/// <summary>
/// The coordinator's HTTP/JSON API, Prometheus metrics and dashboard on one Kestrel port. Every
/// job operation goes through <see cref="RnnClusterClient"/>, the facade .NET clients use: the
/// same messages, replies and errors. See <c>openapi.json</c> beside this file (served at
/// <c>/openapi.json</c>) for the routes.
/// </summary>
public sealed class HttpApi : IAsyncDisposable
{
    public const string OpenApiPath = "/openapi.json";

    private readonly WebApplication _app;
    private readonly JobTracker _tracker;

    private HttpApi(WebApplication app, JobTracker tracker, string url)
    {
        _app = app;
        _tracker = tracker;
        Url = url;
    }

    /// <summary>The base address, e.g. http://127.0.0.1:5080 (the real port when started on 0).</summary>
    public string Url { get; }

    public JobTracker Tracker => _tracker;

    /// <summary>Every mapped route as "METHOD /path" (what <c>openapi.json</c> must document; a route without a method filter counts as GET).</summary>
    public IReadOnlyList<string> Routes =>
    [
        .. ((IEndpointRouteBuilder)_app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} /{e.RoutePattern.RawText?.TrimStart('/')}")),
    ];

    /// <param name="nodes">The cluster's members now (local mode: one).</param>
    public static async Task<HttpApi> StartAsync(HttpApiOptions options, RnnClusterClient client, Func<IReadOnlyList<NodeView>> nodes)
    {
        if (!IPAddress.TryParse(options.Host, out var address))
            throw new JobException($"--http-host {options.Host}: expected an IP address such as 127.0.0.1");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes;
        });
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(RnnMeter.Name)
            .AddView(i => i.Name.EndsWith(".duration", StringComparison.Ordinal)
                ? new ExplicitBucketHistogramConfiguration { Boundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }
                : null)
            .AddPrometheusExporter());
        var app = builder.Build();
        var tracker = new JobTracker(client, options.PollEvery);
        try
        {
            app.Use(ErrorsAsJson);
            Map(app, client, tracker, nodes, options);
            await app.StartAsync();
        }
        catch
        {
            await tracker.DisposeAsync();
            await app.DisposeAsync();
            throw;
        }
        var url = app.Urls.First();
        return new HttpApi(app, tracker, url.TrimEnd('/'));
    }

    private static void Map(WebApplication app, RnnClusterClient client, JobTracker tracker, Func<IReadOnlyList<NodeView>> nodes, HttpApiOptions options)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");

        var dashboard = Path.Combine(AppContext.BaseDirectory, "Dashboard");
        if (Directory.Exists(dashboard))
        {
            var files = new PhysicalFileProvider(dashboard);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }
        app.MapGet(OpenApiPath, () => Results.File(Path.Combine(AppContext.BaseDirectory, "Http", "openapi.json"), "application/json"));

        app.MapGet("/api/cluster", async (CancellationToken ct) =>
        {
            var status = await client.GetClusterStatusAsync(ct);
            return Results.Json(new { workers = status.Workers, jobs = status.Jobs, nodes = nodes() }, ApiJson.Options);
        });

        app.MapGet("/api/jobs", async (CancellationToken ct) =>
        {
            var status = await client.GetClusterStatusAsync(ct);
            var views = new List<JobView>();
            foreach (var id in status.Jobs)
            {
                try { views.Add(ApiJson.View(await client.GetStatusAsync(id, ct))); }
                catch (RnnClusterException) { } // forgotten between the two questions
            }
            return Results.Json(views, ApiJson.Options);
        });

        app.MapPost("/api/jobs", async (HttpContext http, CancellationToken ct) =>
        {
            var (job, data) = await ReadSubmissionAsync(http.Request, ct);
            var handle = await client.StartWatchedJobAsync(job, data, ct);
            tracker.Follow(handle);
            var status = await client.GetStatusAsync(handle.JobId, ct);
            return Results.Json(ApiJson.View(status), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        });

        app.MapGet("/api/jobs/{id}", async (string id, CancellationToken ct) =>
            Results.Json(ApiJson.View(await client.GetStatusAsync(id, ct)), ApiJson.Options));

        app.MapPost("/api/jobs/{id}/stop", async (string id, CancellationToken ct) =>
            Results.Json(ApiJson.View(await client.StopJobAsync(id, ct)), ApiJson.Options));

        app.MapGet("/api/jobs/{id}/history", async (string id, long? since, CancellationToken ct) =>
        {
            var job = tracker.Find(id);
            if (job is null)
            {
                await client.GetStatusAsync(id, ct); // 404 when the coordinator does not know it either
                return Results.Json(new JobHistory(id, "unknown", null, null, 0, 0, [], []), ApiJson.Options);
            }
            return Results.Json(job.History(since ?? 0), ApiJson.Options);
        });

        app.MapGet("/api/jobs/{id}/weights", async (string id, CancellationToken ct) =>
        {
            var reply = await client.GetWeightsAsync(id, ct);
            var buffer = new MemoryStream();
            Npz.Write(buffer, reply.Weights.Select(w => new KeyValuePair<string, NpyArray>(w.Name, NpyArray.FromFloats(w.Value.Data, w.Value.Shape))));
            return Results.File(buffer.ToArray(), "application/octet-stream", $"{id}-weights-v{reply.Version}.npz");
        });

        app.MapPut("/api/jobs/{id}/weights", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            var bytes = await ReadBodyAsync(request, ct);
            IReadOnlyDictionary<string, NpyArray> arrays;
            try { arrays = Npz.Read(new MemoryStream(bytes), "the uploaded weights"); }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or FormatException or NotSupportedException)
            {
                throw ApiException.BadRequest($"the body is not a readable npz file: {e.Message}");
            }
            var weights = arrays.Select(a => new NamedTensor(a.Key, new Tensor(a.Value.ToFloats(), a.Value.Shape))).ToList();
            var reply = await client.SetWeightsAsync(id, weights, ct);
            return Results.Json(new { job_id = reply.JobId, weights_version = reply.Version, names = reply.Weights.Select(w => w.Name) }, ApiJson.Options);
        });

        app.MapPost("/api/jobs/{id}/reset-states", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ReadJsonObjectAsync(request, ct, allowEmpty: true);
            int? layer = body?["layer"] is JsonValue l ? (l.TryGetValue<int>(out var li) ? li : throw ApiException.BadRequest("layer: expected an integer")) : null;
            List<int>? rows = body?["rows"] is JsonArray r
                ? [.. r.Select((n, i) => n is JsonValue v && v.TryGetValue<int>(out var k) ? k : throw ApiException.BadRequest($"rows[{i}]: expected an integer"))]
                : null;
            List<Tensor>? values = body?["values"] is JsonArray vs ? [.. vs.Select((v, i) => ApiJson.ToTensor(v, 2, $"values[{i}]"))] : null;
            await client.ResetStatesAsync(id, layer, rows, values, ct);
            return Results.Json(new { job_id = id, reset = true }, ApiJson.Options);
        });

        app.MapPost("/api/jobs/{id}/predict", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ReadJsonObjectAsync(request, ct, allowEmpty: false);
            var x = ApiJson.ToTensor(body!["x"], 3, "x");
            List<Tensor> states = body["initial_states"] is JsonArray s ? [.. s.Select((v, i) => ApiJson.ToTensor(v, 2, $"initial_states[{i}]"))] : [];
            var result = await client.PredictAsync(id, x, states, ct);
            var reply = new JsonObject
            {
                ["job_id"] = id,
                ["shape"] = new JsonArray([.. result.Output.Shape.Select(d => (JsonNode)d)]),
                ["output"] = ApiJson.Nested(result.Output),
                ["final_states"] = new JsonArray([.. result.FinalStates.Select(ApiJson.Nested)]),
            };
            return Results.Text(reply.ToJsonString(), "application/json");
        });

        app.MapGet("/api/jobs/{id}/events", async (string id, HttpContext http) =>
        {
            var ct = http.RequestAborted;
            await client.GetStatusAsync(id, ct); // unknown job: 404 before the stream starts
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.WriteAsync(": events of job " + id + "\n\n", ct);
            await http.Response.Body.FlushAsync(ct);
            try
            {
                await foreach (var e in client.WatchAsync(id, ct))
                {
                    var (name, payload) = ApiJson.Event(e);
                    await http.Response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(payload, ApiJson.Options)}\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException) { } // the client went away
        });
    }

    /// <summary>
    /// A job submission: a JSON body (the job file; its data by reference: builtin, or a csv or npz
    /// path on the coordinator's machine, relative paths from its working folder), or
    /// multipart/form-data with a <c>job</c> part (the JSON) and a <c>data</c> part (an npz with x, y).
    /// </summary>
    private static async Task<(JobSpec, Dataset)> ReadSubmissionAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            CheckLength(request);
            var form = await request.ReadFormAsync(ct);
            var jobText = form["job"].ToString();
            if (string.IsNullOrWhiteSpace(jobText)) throw ApiException.BadRequest("the form has no 'job' field (the job file's JSON)");
            var file = form.Files.GetFile("data");
            if (file is null)
            {
                var job = JobSpec.FromJson(jobText, "job");
                return (job, LoadData(job));
            }
            var path = Path.Combine(Path.GetTempPath(), $"rnncluster-upload-{Guid.NewGuid():N}.npz");
            try
            {
                await using (var target = File.Create(path)) await file.CopyToAsync(target, ct);
                // The upload is the job's data: an npz at the saved path, whatever data.source said.
                var uploaded = JobSpec.FromJson(WithUploadedData(jobText, path), "job");
                var data = LoadData(uploaded);
                return (uploaded with { Data = uploaded.Data with { Path = "upload:" + file.FileName } }, data);
            }
            finally
            {
                File.Delete(path);
            }
        }
        var body = await ReadBodyAsync(request, ct);
        if (body.Length == 0) throw ApiException.BadRequest("the body is empty: send the job file's JSON (or multipart/form-data with 'job' and 'data')");
        var spec = JobSpec.FromJson(Encoding.UTF8.GetString(body), "job");
        spec = spec with { Data = spec.Data.ResolvedAgainst(Environment.CurrentDirectory) };
        return (spec, LoadData(spec));
    }

    private static string WithUploadedData(string jobJson, string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(jobJson, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw ApiException.BadRequest($"job: malformed job file: {e.Message}"); }
        if (node is not JsonObject job) throw ApiException.BadRequest("job: expected a JSON object");
        var data = job["data"] as JsonObject ?? new JsonObject();
        job["data"] = data;
        data["source"] = DataSpec.NpzSource;
        data["path"] = path;
        return job.ToJsonString();
    }

    private static Dataset LoadData(JobSpec job)
    {
        var data = DataLoader.Load(job, "job");
        DataLoader.CheckFits(data, job);
        return data;
    }

    private static void CheckLength(HttpRequest request)
    {
        var limit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (request.ContentLength is { } length && limit is { } max && length > max)
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, $"the body has {length} bytes; the limit is {max} bytes");
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        CheckLength(request);
        var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static async Task<JsonObject?> ReadJsonObjectAsync(HttpRequest request, CancellationToken ct, bool allowEmpty)
    {
        var body = await ReadBodyAsync(request, ct);
        if (body.Length == 0)
            return allowEmpty ? null : throw ApiException.BadRequest("the body is empty: expected a JSON object");
        JsonNode? node;
        try { node = JsonNode.Parse(body); }
        catch (JsonException e) { throw ApiException.BadRequest($"malformed JSON: {e.Message}"); }
        return node as JsonObject ?? throw ApiException.BadRequest("expected a JSON object");
    }

    /// <summary>Every refusal as JSON <c>{"error": "..."}</c> with a 4xx (5xx only when the coordinator does not answer).</summary>
    private static async Task ErrorsAsJson(HttpContext http, RequestDelegate next)
    {
        try
        {
            await next(http);
        }
        catch (Exception e) when (!http.Response.HasStarted && Status(e) is { } status)
        {
            http.Response.Clear();
            http.Response.StatusCode = status;
            await http.Response.WriteAsJsonAsync(new ErrorBody(e.Message), ApiJson.Options);
        }
    }

    private static int? Status(Exception e) => e switch
    {
        ApiException a => a.Status,
        BadHttpRequestException b => b.StatusCode,
        JobException => StatusCodes.Status400BadRequest,
        RnnClusterException r when r.Message.StartsWith("unknown job", StringComparison.Ordinal) => StatusCodes.Status404NotFound,
        RnnClusterException r when r.Message.Contains("did not answer", StringComparison.Ordinal) => StatusCodes.Status504GatewayTimeout,
        RnnClusterException r when r.Message.StartsWith("unexpected reply", StringComparison.Ordinal) => StatusCodes.Status502BadGateway,
        RnnClusterException => StatusCodes.Status400BadRequest,
        InvalidDataException or JsonException => StatusCodes.Status400BadRequest,
        _ => null,
    };

    /// <summary>The members of the cluster <paramref name="system"/> belongs to.</summary>
    public static Func<IReadOnlyList<NodeView>> ClusterNodes(ActorSystem system) => () =>
        [.. Akka.Cluster.Cluster.Get(system).State.Members.Select(m => new NodeView(m.Address.ToString(), [.. m.Roles], m.Status.ToString().ToLowerInvariant()))];

    /// <summary>Local mode: one process holds the coordinator and every worker.</summary>
    public static Func<IReadOnlyList<NodeView>> LocalNode(int workers) => () =>
        [new NodeView("local", [Hosting.AkkaCluster.CoordinatorRole, $"{Hosting.AkkaCluster.WorkerRole} x{workers}"], "up")];

    public async ValueTask DisposeAsync()
    {
        await _tracker.DisposeAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
