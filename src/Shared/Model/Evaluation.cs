using RnnCluster.Protocol;

namespace RnnCluster.Model;

/// <summary>Loss and metrics of predictions against targets: the end-of-epoch evaluation on the coordinator and <c>rnncluster evaluate</c>.</summary>
public static class Evaluation
{
    public sealed record Result(double Loss, IReadOnlyList<NamedMetric> Metrics);

    /// <summary>
    /// <paramref name="keep"/> (from <see cref="SequenceMask.OutputKeep"/>): for a masked output
    /// sequence, which (row, step) vectors count; loss and metrics are then means over those.
    /// </summary>
    public static Result Compute(ILoss loss, Tensor prediction, Tensor target, IReadOnlyList<string> metrics, string prefix, float[]? keep = null)
    {
        if (keep is not null) return Compute(loss, Kept(prediction, keep), Kept(target, keep), metrics, prefix);
        int rows = prediction.Shape[0];
        int width = prediction.Shape[^1];
        int vectorsPerRow = prediction.Length / Math.Max(1, rows) / Math.Max(1, width);
        var grad = new float[prediction.Length];
        double lossSum = loss.Compute(prediction.Data, target.Data, width, grad, 1f / Math.Max(1, vectorsPerRow));
        var named = metrics.Select(m => new NamedMetric(prefix + m, m switch
        {
            "accuracy" => Accuracy(loss, prediction.Data, target.Data, width),
            "mae" => prediction.Data.Zip(target.Data, (p, t) => (double)Math.Abs(p - t)).Average(),
            "mse" => prediction.Data.Zip(target.Data, (p, t) => (double)(p - t) * (p - t)).Average(),
            _ => double.NaN,
        })).ToList();
        return new Result(lossSum / Math.Max(1, rows), named);
    }

    /// <summary>The kept vectors of a (B, T, W) tensor as a (kept, W) tensor.</summary>
    private static Tensor Kept(Tensor t, float[] keep)
    {
        int width = t.Length / keep.Length, kept = 0;
        var data = new float[t.Length];
        for (int q = 0; q < keep.Length; q++)
            if (keep[q] != 0f) t.Data.AsSpan(q * width, width).CopyTo(data.AsSpan(kept++ * width, width));
        return new Tensor(data[..(kept * width)], kept, width);
    }

    /// <summary>Class accuracy: argmax against a class index or a one-hot row; for one output, p > 0.5.</summary>
    private static double Accuracy(ILoss loss, float[] prediction, float[] target, int width)
    {
        int vectors = prediction.Length / width;
        int correct = 0;
        bool sparse = loss.TargetWidth(width) == 1 && width > 1;
        const float threshold = 0.5f;
        for (int v = 0; v < vectors; v++)
        {
            var p = prediction.AsSpan(v * width, width);
            if (width == 1)
            {
                if ((p[0] > threshold) == (target[v] > 0.5f)) correct++;
                continue;
            }
            int predicted = ArgMax(p);
            int actual = sparse ? (int)target[v] : ArgMax(target.AsSpan(v * width, width));
            if (predicted == actual) correct++;
        }
        return (double)correct / Math.Max(1, vectors);
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }
}
