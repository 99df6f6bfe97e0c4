using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Interop;
using RnnCluster.Interop.Keras;
using RnnCluster.Interop.Onnx;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster export DIR|FILE.keras --format onnx|keras|weights.h5 --out FILE [--state-inputs] [--timesteps T]</c>:
/// a trained model (or a .keras archive) as ONNX, as a Keras 3 <c>.keras</c> archive or as Keras 3 <c>.weights.h5</c>.
/// </summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("MODEL") { Description = "a folder written by 'rnncluster train --out' (model.json, weights.npz), or a .keras archive" };
        var format = CliOptions.OneOf("--format", "what to write: ONNX (opset 14; initial states in, final states out), a Keras 3 .keras archive, or Keras 3 .weights.h5", "onnx", "onnx", "keras", "weights.h5");
        var outFile = CliOptions.Text("--out", "FILE", "the file to write", required: true);
        var stateInputs = CliOptions.Flag("--state-inputs", "keras: write a functional model whose initial states are Inputs (as jobs with states from the data train it); default: Sequential");
        var timesteps = CliOptions.Int("--timesteps", "T", "keras: a fixed sequence length for the Input's batch_shape (default: None, any length)", min: 1);
        var command = new Command("export", "write a trained model as ONNX, .keras or .weights.h5");
        command.Add(source);
        command.Add(format);
        command.Add(outFile);
        command.Add(stateInputs);
        command.Add(timesteps);
        command.SetAction(result =>
        {
            var (weights, keras) = ModelFiles.OpenWithWeights(result.GetValue(source)!);
            var path = result.GetValue(outFile)!;
            var f = result.GetValue(format)!;
            switch (f)
            {
                case "onnx":
                    OnnxExporter.Write(path, weights);
                    break;
                case "keras":
                    KerasArchive.Write(path, weights, result.GetValue(stateInputs) || (keras?.HasStateInputs ?? false), result.GetValue(timesteps) ?? keras?.Timesteps);
                    break;
                default:
                    KerasWeightsFile.Write(path, weights);
                    break;
            }
            result.InvocationConfiguration.Output.WriteLine($"wrote {path} ({f}): {weights.Spec.Layers.Count} layer(s), {weights.All.Sum(w => (long)w.Value.Length):N0} parameters");
            return 0;
        });
        return command;
    }
}
