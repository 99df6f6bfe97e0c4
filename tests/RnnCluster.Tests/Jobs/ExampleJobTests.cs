using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Jobs;

/// <summary>The copy-ready example jobs load their real data, fit their models, and train.</summary>
public sealed class ExampleJobTests(ITestOutputHelper output)
{
    [Fact]
    public void Co2Stateful_LoadsFitsAndTrains()
    {
        var path = JobTestSupport.JobFile("co2-stateful.json");
        var job = JobSpec.Load(path);
        var data = DataLoader.Load(job, path);
        Assert.Equal([172, 13, 2], data.X.Shape);
        Assert.Equal(["co2", "co2_missing"], data.FeatureNames);
        Assert.NotNull(data.Scaling);
        DataLoader.CheckFits(data, job);

        var model = Sequential.FromSpec(job.ModelFor(data.Features), new MklKernels(), job.Seed);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        var history = model.Fit(data.X, data.Y, job.BatchSize, job.Epochs, job.Shuffle, job.ValidationSplit, resetStatesEachEpoch: true);
        output.WriteLine($"loss {string.Join(", ", history.Loss.Select(l => l.ToString("0.0000")))}");
        output.WriteLine($"val_loss {string.Join(", ", history.ValidationLoss.Select(l => l.ToString("0.0000")))}");

        // Persistence (next week = this week) on the validation rows, in the same scaled units.
        var (start, val) = ValidationSplit.Of(data.Rows, job.ValidationSplit);
        double persistence = 0;
        for (int r = start; r < data.Rows; r++)
        {
            double last = data.X.Data[(r * 13 + 12) * 2], next = data.Y.Data[r];
            persistence += (next - last) * (next - last);
        }
        persistence /= val;
        var s = data.Scaling!;
        output.WriteLine($"persistence val mse {persistence:0.0000}; final val rmse {Math.Sqrt(history.ValidationLoss[^1]) * s.TargetStd[0]:0.00} ppm (persistence {Math.Sqrt(persistence) * s.TargetStd[0]:0.00} ppm)");
        Assert.True(history.Loss[^1] < history.Loss[0] / 5, "the stateful model does not learn");
        Assert.True(history.ValidationLoss[^1] < 0.05, $"val_loss {history.ValidationLoss[^1]} (scaled units)");
    }

    [Fact]
    public void Digits_LoadsFitsAndTrains()
    {
        var path = JobTestSupport.JobFile("digits.json");
        var job = JobSpec.Load(path);
        var data = DataLoader.Load(job, path);
        Assert.Equal([1797, 8, 8], data.X.Shape);
        DataLoader.CheckFits(data, job);

        var model = Sequential.FromSpec(job.ModelFor(data.Features), new MklKernels(), job.Seed);
        model.Compile(job.CreateLoss(), job.Optimizer.Create());
        var history = model.Fit(data.X, data.Y, job.BatchSize, job.Epochs, job.Shuffle, job.ValidationSplit);
        var (start, val) = ValidationSplit.Of(data.Rows, job.ValidationSplit);
        var predicted = model.Predict(Rows.Slice(data.X, start, val)).Output;
        int correct = 0;
        for (int r = 0; r < val; r++)
        {
            var p = predicted.Data.AsSpan(r * 10, 10);
            int best = 0;
            for (int k = 1; k < 10; k++) if (p[k] > p[best]) best = k;
            if (best == (int)data.Y.Data[start + r]) correct++;
        }
        double accuracy = (double)correct / val;
        output.WriteLine($"loss {string.Join(", ", history.Loss.Select(l => l.ToString("0.000")))}");
        output.WriteLine($"val_loss {string.Join(", ", history.ValidationLoss.Select(l => l.ToString("0.000")))}; val accuracy {accuracy:0.000}");
        Assert.True(accuracy > 0.85, $"validation accuracy {accuracy}");
    }

    [Fact]
    public void Co2_WithoutStreams_StatefulBatchingIsExplained()
    {
        var path = JobTestSupport.JobFile("co2-stateful.json");
        var job = JobSpec.Load(path);
        job = job with { Data = job.Data with { Streams = null } };
        var data = DataLoader.Load(job, path);
        Assert.Equal(175, data.Rows);
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(data, job));
        Assert.StartsWith("a stateful job needs whole batches: 142 training rows (175 rows minus 33 for validation) is not a multiple of batch_size 4", e.Message);
    }
}
