using System.CommandLine;
using RnnCluster.Model;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster evaluate [JOB] --model DIR</c>: a trained model's loss and metrics on a job's data.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var trained = new TrainedModel();
        var command = new Command("evaluate", "print the loss and metrics of a trained model on the job's data");
        trained.AddTo(command);
        command.SetAction(result =>
        {
            var (job, data, model) = trained.Open(result);
            var prediction = model.Predict(data.X, TrainedModel.StatesFor(job, data));
            var scores = Evaluation.Compute(job.CreateLoss(), prediction.Output, data.Y, job.Metrics, "");
            result.InvocationConfiguration.Output.WriteLine($"loss {scores.Loss:0.000000}" + string.Concat(scores.Metrics.Select(m => $"  {m.Name} {m.Value:0.0000}")) + $"  ({data.X.Shape[0]} rows)");
            return 0;
        });
        return command;
    }
}
