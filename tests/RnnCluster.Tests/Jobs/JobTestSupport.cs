using System.Diagnostics;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Tests.Jobs;

/// <summary>Repository paths, a temporary folder, and a small trainer that passes per-row initial states.</summary>
internal static class JobTestSupport
{
    /// <summary>The repository root: the nearest folder above the test binaries holding RnnCluster.sln.</summary>
    public static string RepoRoot { get; } = FindRoot();

    public static string DataFile(string name) => Path.Combine(RepoRoot, "data", name);

    public static string JobFile(string name) => Path.Combine(RepoRoot, "jobs", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RnnCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException($"RnnCluster.sln not found above {AppContext.BaseDirectory}");
    }

    public sealed record TrainResult(IReadOnlyList<double> Loss, IReadOnlyList<double> ValLoss, TimeSpan Elapsed);

    /// <summary>
    /// Keras-style fit for a job whose rows carry their own initial states (policy from_data):
    /// the last validation_split of the rows held out, shuffled batches (BatchPlan), and each
    /// batch's rows of every state tensor passed to TrainOnBatch; the validation loss is the
    /// mean loss of predictions from the validation rows' own initial states.
    /// </summary>
    public static TrainResult Train(JobSpec job, Dataset data, IMathKernels kernels)
    {
        var watch = Stopwatch.StartNew();
        var loss = job.CreateLoss();
        var model = Sequential.FromSpec(job.ModelFor(data.Features), kernels, job.Seed);
        model.Compile(loss, job.Optimizer.Create());
        int rows = data.Rows;
        var (trainRows, valRows) = ValidationSplit.Of(rows, job.ValidationSplit);
        var plan = new BatchPlan(trainRows, job.BatchSize, job.Shuffle ?? !job.IsStateful, job.IsStateful, job.Seed);
        bool fromData = job.States.Policy == StatePolicyKind.FromData;

        var losses = new List<double>();
        var validation = new List<double>();
        for (int epoch = 0; epoch < job.Epochs; epoch++)
        {
            var order = plan.Order(epoch);
            double sum = 0;
            for (int b = 0; b < plan.BatchesPerEpoch; b++)
            {
                var batch = plan.Batch(order, b);
                var x = Rows.Empty(data.X, batch.Length);
                var y = Rows.Empty(data.Y, batch.Length);
                Rows.Gather(data.X, batch, x);
                Rows.Gather(data.Y, batch, y);
                IReadOnlyList<Tensor?>? states = null;
                if (fromData)
                {
                    var list = new List<Tensor?>();
                    foreach (var s in data.InitialStates)
                    {
                        var t = Rows.Empty(s, batch.Length);
                        Rows.Gather(s, batch, t);
                        list.Add(t);
                    }
                    states = list;
                }
                sum += model.TrainOnBatch(x, y, states) * batch.Length;
            }
            losses.Add(sum / trainRows);
            if (valRows > 0) validation.Add(MeanLoss(model, loss, data, trainRows, valRows, fromData));
            if (job.IsStateful && job.States.Reset == StateReset.EachEpoch) model.ResetStates();
        }
        return new TrainResult(losses, validation, watch.Elapsed);
    }

    /// <summary>Mean loss of rows [start, start + count) predicted from their own initial states (or zeros).</summary>
    public static double MeanLoss(Sequential model, ILoss loss, Dataset data, int start, int count, bool withStates)
    {
        var x = Rows.Slice(data.X, start, count);
        var y = Rows.Slice(data.Y, start, count);
        IReadOnlyList<Tensor?>? states = withStates ? [.. data.InitialStates.Select(s => Rows.Slice(s, start, count))] : null;
        var prediction = model.Predict(x, states).Output;
        var grad = new float[prediction.Length];
        return loss.Compute(prediction.Data, y.Data, prediction.Shape[^1], grad, 1f) / count;
    }
}
