using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// What <c>predict</c> and <c>evaluate</c> share: <c>--model DIR</c> (a folder written by
/// <c>train --out</c>: model.json + weights.npz), the JOB whose data it runs on, <c>--math</c>.
/// </summary>
public sealed class TrainedModel
{
    public Option<string?> Model { get; } = CliOptions.Text("--model", "DIR", "a folder written by 'rnncluster train --out' (model.json and weights.npz)", required: true);

    public JobArguments Job { get; } = new(overrides: false);

    public Option<string?> Math { get; } = CliOptions.Math();

    public void AddTo(Command command)
    {
        Job.AddTo(command);
        command.Add(Model);
        command.Add(Math);
    }

    /// <summary>The job, its data and the model with its weights, checked against each other.</summary>
    public (JobSpec Job, Dataset Data, Sequential Model) Open(ParseResult result)
    {
        var dir = result.GetRequiredValue(Model)!;
        var job = Job.Read(result);
        var kernels = MathBackend.Start(MathOptions.FromEnvironment(result.GetValue(Math)));
        var modelPath = Path.Combine(dir, "model.json");
        if (!File.Exists(modelPath)) throw new JobException($"model file not found: {modelPath}");
        var spec = ModelSpec.FromJson(File.ReadAllText(modelPath), modelPath);
        var data = JobArguments.LoadData(job);
        if (data.X.Shape[2] != spec.InputFeatures)
            throw new JobException($"the job's data has {data.X.Shape[2]} features; the model in {modelPath} expects {spec.InputFeatures}");
        // Prediction runs the whole data as one batch from the given or zero states; no carrying across calls.
        var model = Sequential.FromSpec(spec with { Layers = [.. spec.Layers.Select(l => l with { Stateful = false })] }, kernels);
        var weightsPath = Path.Combine(dir, "weights.npz");
        if (!File.Exists(weightsPath)) throw new JobException($"weights file not found: {weightsPath}");
        model.LoadInto(weightsPath);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        return (job, data, model);
    }

    /// <summary>The data's initial states when the job takes them from the data, else null (zeros).</summary>
    public static IReadOnlyList<Tensor?>? StatesFor(JobSpec job, Dataset data) =>
        job.States.Policy == StatePolicyKind.FromData && data.InitialStates.Count > 0 ? [.. data.InitialStates] : null;
}
