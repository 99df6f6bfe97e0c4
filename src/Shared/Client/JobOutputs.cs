using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Client;

/// <summary>The files a trained job's output folder holds: weights.npz (Keras layout), model.json, metrics.csv, loss.png.</summary>
public static class JobOutputs
{
    /// <exception cref="JobException">The folder or a file in it cannot be written (the message names the path).</exception>
    public static void Write(string dir, ModelSpec model, IEnumerable<KeyValuePair<string, Tensor>> weights, IReadOnlyList<EpochMetrics> history, string title)
    {
        try
        {
            Directory.CreateDirectory(dir);
            WeightsFile.Save(Path.Combine(dir, "weights.npz"), weights);
            File.WriteAllText(Path.Combine(dir, "model.json"), model.ToJson());
            MetricsCsv.Write(Path.Combine(dir, "metrics.csv"), history);
            LossPlot.WritePng(Path.Combine(dir, "loss.png"), [.. history.Select(h => h.Loss)],
                history.All(h => h.ValLoss is not null) && history.Count > 0 ? [.. history.Select(h => h.ValLoss!.Value)] : null, title);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobException($"cannot write the output folder {dir}: {e.Message}");
        }
    }
}
