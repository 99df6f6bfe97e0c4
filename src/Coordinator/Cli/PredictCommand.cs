using System.CommandLine;
using RnnCluster.CommandLine;
using RnnCluster.Data;
using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster predict [JOB] --model DIR [--out FILE]</c>: a trained model's predictions and final states on a job's data.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var trained = new TrainedModel();
        var outFile = CliOptions.Text("--out", "FILE", "npz file to write (default DIR/predictions.npz)");
        var command = new Command("predict", "predict the job's data with a trained model; writes 'prediction' and 'final_state{k}' arrays to an npz");
        trained.AddTo(command);
        command.Add(outFile);
        command.SetAction(result =>
        {
            var (job, data, model) = trained.Open(result);
            var prediction = model.Predict(data.X, TrainedModel.StatesFor(job, data));
            var path = result.GetValue(outFile) ?? Path.Combine(result.GetRequiredValue(trained.Model)!, "predictions.npz");
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
            result.InvocationConfiguration.Output.WriteLine($"wrote {path}: prediction {Tensor.FormatShape(prediction.Output.Shape)} and {prediction.FinalStates.Count} final state(s)");
            return 0;
        });
        return command;
    }
}
