using RnnCluster.Coordinator.Actors;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster predict</c> and <c>evaluate</c>: a trained model (model.json + weights.npz) on a job's data.</summary>
public static class ModelCommands
{
    private static readonly HashSet<string> ValueOptions = ["model", "out", "math"];
    private static readonly HashSet<string> Flags = [];

    public static int Predict(IEnumerable<string> args, TextWriter output)
    {
        var (a, job, data, model) = Open(args);
        var prediction = model.Predict(data.X, StatesFor(job, data));
        var path = a.Value("out") ?? Path.Combine(a.Value("model")!, "predictions.npz");
        var arrays = new List<KeyValuePair<string, NpyArray>> { new("prediction", NpyArray.FromFloats(prediction.Output.Data, prediction.Output.Shape)) };
        arrays.AddRange(prediction.FinalStates.Select((s, k) => new KeyValuePair<string, NpyArray>($"final_state{k}", NpyArray.FromFloats(s.Data, s.Shape))));
        try
        {
            Npz.WriteFile(path, arrays);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobException($"cannot write {path}: {e.Message}");
        }
        output.WriteLine($"wrote {path}: prediction {Tensor.FormatShape(prediction.Output.Shape)} and {prediction.FinalStates.Count} final state(s)");
        return 0;
    }

    public static int Evaluate(IEnumerable<string> args, TextWriter output)
    {
        var (_, job, data, model) = Open(args);
        var prediction = model.Predict(data.X, StatesFor(job, data));
        var result = Evaluation.Compute(job.CreateLoss(), prediction.Output, data.Y, job.Metrics, "");
        output.WriteLine($"loss {result.Loss:0.000000}" + string.Concat(result.Metrics.Select(m => $"  {m.Name} {m.Value:0.0000}")) + $"  ({data.X.Shape[0]} rows)");
        return 0;
    }

    private static (CliArguments, JobSpec, Dataset, Sequential) Open(IEnumerable<string> args)
    {
        var a = new CliArguments(args, ValueOptions, Flags);
        var dir = a.Value("model") ?? throw new UsageException("--model DIR (a folder written by 'train --out') is required");
        var job = JobFiles.FromArguments(a);
        var kernels = MathBackend.Start(MathOptions.FromEnvironment(a.Value("math")));
        var modelPath = Path.Combine(dir, "model.json");
        if (!File.Exists(modelPath)) throw new JobException($"model file not found: {modelPath}");
        var spec = ModelSpec.FromJson(File.ReadAllText(modelPath), modelPath);
        var data = JobFiles.LoadData(job);
        if (data.X.Shape[2] != spec.InputFeatures)
            throw new JobException($"the job's data has {data.X.Shape[2]} features; the model in {modelPath} expects {spec.InputFeatures}");
        // Prediction runs the whole data as one batch from the given or zero states; no carrying across calls.
        var model = Sequential.FromSpec(spec with { Layers = [.. spec.Layers.Select(l => l with { Stateful = false })] }, kernels);
        var weightsPath = Path.Combine(dir, "weights.npz");
        if (!File.Exists(weightsPath)) throw new JobException($"weights file not found: {weightsPath}");
        model.LoadInto(weightsPath);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        return (a, job, data, model);
    }

    private static IReadOnlyList<Tensor?>? StatesFor(JobSpec job, Dataset data) =>
        job.States.Policy == StatePolicyKind.FromData && data.InitialStates.Count > 0 ? [.. data.InitialStates] : null;
}
