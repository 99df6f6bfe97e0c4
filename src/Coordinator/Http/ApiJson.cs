using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using RnnCluster.Model;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Http;

/// <summary>
/// The HTTP API's JSON: snake_case names (as in job files), states as snake_case strings, and
/// no NaN on the wire (a loss not yet known is null). Tensors are nested arrays.
/// </summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static double? Finite(double value) => double.IsFinite(value) ? value : null;

    public static JobView View(JobStatus s) =>
        new(s.JobId, s.State, s.Epoch, s.Step, s.WeightsVersion, s.Workers, Finite(s.LastLoss), s.Error);

    /// <summary>A progress event as the stream sends it: its SSE event name and its JSON object.</summary>
    public static (string Name, object Body) Event(IJobEvent e) => e switch
    {
        StepCompleted s => ("step", new StepEvent(s.JobId, s.Epoch, s.Step, s.StepsPerEpoch, Finite(s.Loss), s.Rows, s.Workers)),
        EpochCompleted c => ("epoch", new EpochEvent(c.JobId, c.Epoch, c.Epochs, Finite(c.Loss), c.ValidationLoss is { } v ? Finite(v) : null,
            c.Metrics.ToDictionary(m => m.Name, m => Finite(m.Value)))),
        JobFinished f => ("finished", new FinishedEvent(f.JobId, f.WeightsVersion)),
        JobFailed f => ("failed", new FailedEvent(f.JobId, f.Reason)),
        _ => ("unknown", new FailedEvent(e.JobId, e.GetType().Name)),
    };

    /// <summary>A tensor as nested arrays, its first axis outermost.</summary>
    public static JsonNode Nested(Tensor t)
    {
        int offset = 0;
        return Build(t.Data, t.Shape, 0, ref offset);

        static JsonNode Build(float[] data, int[] shape, int axis, ref int offset)
        {
            var array = new JsonArray();
            if (axis == shape.Length - 1)
            {
                for (int i = 0; i < shape[axis]; i++) array.Add(JsonValue.Create(data[offset++]));
                return array;
            }
            for (int i = 0; i < shape[axis]; i++) array.Add(Build(data, shape, axis + 1, ref offset));
            return array;
        }
    }

    /// <summary>Nested arrays of numbers of one rectangular shape with <paramref name="rank"/> axes, as a tensor.</summary>
    /// <exception cref="ApiException">400 naming <paramref name="what"/> and the problem.</exception>
    public static Tensor ToTensor(JsonNode? node, int rank, string what)
    {
        var shape = new int[rank];
        var probe = node;
        for (int axis = 0; axis < rank; axis++)
        {
            if (probe is not JsonArray a || a.Count == 0)
                throw ApiException.BadRequest($"{what}: expected {rank} levels of non-empty nested arrays (shape with {rank} axes)");
            shape[axis] = a.Count;
            probe = a[0];
        }
        long length = shape.Aggregate(1L, (p, d) => p * d);
        if (length > int.MaxValue) throw ApiException.BadRequest($"{what}: {Tensor.FormatShape(shape)} is too large");
        var data = new float[length];
        int offset = 0;
        Fill(node!, 0, "");
        return new Tensor(data, shape);

        void Fill(JsonNode n, int axis, string path)
        {
            if (n is not JsonArray a || a.Count != shape[axis])
                throw ApiException.BadRequest($"{what}{path}: expected an array of {shape[axis]} (the shape is {Tensor.FormatShape(shape)}, from the first elements)");
            for (int i = 0; i < a.Count; i++)
            {
                if (axis < rank - 1) Fill(a[i]!, axis + 1, $"{path}[{i}]");
                else if (a[i] is JsonValue v && v.TryGetValue<double>(out var x)) data[offset++] = (float)x;
                else throw ApiException.BadRequest($"{what}{path}[{i}]: expected a number");
            }
        }
    }
}

public sealed record JobView(string JobId, JobState State, int Epoch, int Step, long WeightsVersion, int Workers, double? LastLoss, string? Error);

public sealed record StepEvent(string JobId, int Epoch, int Step, int StepsPerEpoch, double? Loss, int Rows, int Workers);

public sealed record EpochEvent(string JobId, int Epoch, int Epochs, double? Loss, double? ValLoss, IReadOnlyDictionary<string, double?> Metrics);

public sealed record FinishedEvent(string JobId, long WeightsVersion);

public sealed record FailedEvent(string JobId, string Reason);

public sealed record ErrorBody(string Error);

/// <summary>A request the API refuses: the status code and a one-line message for the body.</summary>
public sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);
}
