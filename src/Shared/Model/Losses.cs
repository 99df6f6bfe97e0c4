namespace RnnCluster.Model;

/// <summary>
/// A Keras loss over prediction vectors (the last axis). A row's loss is the mean of its vectors'
/// losses over time; the engine works with the sum over rows, which the caller divides by the
/// global batch size (so shards on different workers add up exactly).
/// </summary>
public interface ILoss
{
    string Name { get; }

    /// <summary>Target values per prediction vector: the output width, or 1 for class indices.</summary>
    int TargetWidth(int outputWidth);

    /// <summary>
    /// Returns the sum of the vectors' losses times <paramref name="scale"/>, and writes
    /// <paramref name="scale"/> * d(sum)/d(pred) into <paramref name="grad"/>.
    /// </summary>
    double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale);
}

public static class Losses
{
    /// <summary>Keras names: mse, mae, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy; <paramref name="fromLogits"/> for the crossentropies.</summary>
    public static ILoss Parse(string name, bool fromLogits = false) => name.Trim().ToLowerInvariant() switch
    {
        "mse" or "mean_squared_error" => new MeanSquaredError(),
        "mae" or "mean_absolute_error" => new MeanAbsoluteError(),
        "binary_crossentropy" or "bce" => new BinaryCrossentropy(fromLogits),
        "categorical_crossentropy" or "cce" => new CategoricalCrossentropy(fromLogits),
        "sparse_categorical_crossentropy" or "scce" => new SparseCategoricalCrossentropy(fromLogits),
        _ => throw new ModelException($"unknown loss '{name}': expected mse, mae, binary_crossentropy, categorical_crossentropy or sparse_categorical_crossentropy"),
    };

    /// <summary>Keras's epsilon for clipping probabilities.</summary>
    internal const float Epsilon = 1e-7f;
}

public sealed class MeanSquaredError : ILoss
{
    public string Name => "mse";
    public int TargetWidth(int outputWidth) => outputWidth;

    public double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale)
    {
        double sum = 0;
        float s = scale / width;
        for (int i = 0; i < pred.Length; i++)
        {
            float d = pred[i] - target[i];
            sum += (double)d * d;
            grad[i] = 2f * s * d;
        }
        return sum * scale / width;
    }
}

public sealed class MeanAbsoluteError : ILoss
{
    public string Name => "mae";
    public int TargetWidth(int outputWidth) => outputWidth;

    public double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale)
    {
        double sum = 0;
        float s = scale / width;
        for (int i = 0; i < pred.Length; i++)
        {
            float d = pred[i] - target[i];
            sum += MathF.Abs(d);
            grad[i] = d > 0 ? s : d < 0 ? -s : 0f;
        }
        return sum * scale / width;
    }
}

/// <summary>Mean over the last axis of -(y log p + (1 - y) log(1 - p)); p clipped to [eps, 1 - eps], or a logit.</summary>
public sealed class BinaryCrossentropy(bool fromLogits) : ILoss
{
    public string Name => "binary_crossentropy";
    public int TargetWidth(int outputWidth) => outputWidth;

    public double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale)
    {
        double sum = 0;
        float s = scale / width;
        for (int i = 0; i < pred.Length; i++)
        {
            float y = target[i];
            if (fromLogits)
            {
                float z = pred[i];
                // Stable form: max(z, 0) - z y + log(1 + exp(-|z|)).
                sum += MathF.Max(z, 0f) - z * y + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));
                float p = 1f / (1f + MathF.Exp(-z));
                grad[i] = s * (p - y);
            }
            else
            {
                float p = pred[i];
                bool clipped = p < Losses.Epsilon || p > 1f - Losses.Epsilon;
                p = Math.Clamp(p, Losses.Epsilon, 1f - Losses.Epsilon);
                sum += -(y * MathF.Log(p) + (1f - y) * MathF.Log(1f - p));
                grad[i] = clipped ? 0f : s * (-y / p + (1f - y) / (1f - p));
            }
        }
        return sum * scale / width;
    }
}

/// <summary>-sum(y log p) per vector; probabilities are normalised and clipped like Keras, or logits go through log-softmax.</summary>
public sealed class CategoricalCrossentropy(bool fromLogits) : ILoss
{
    public string Name => "categorical_crossentropy";
    public int TargetWidth(int outputWidth) => outputWidth;

    public double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale)
    {
        double sum = 0;
        for (int v = 0; v < pred.Length / width; v++)
        {
            var p = pred.Slice(v * width, width);
            var y = target.Slice(v * width, width);
            var g = grad.Slice(v * width, width);
            sum += fromLogits ? Crossentropy.FromLogits(p, y, g, scale) : Crossentropy.FromProbabilities(p, y, g, scale);
        }
        return sum * scale;
    }
}

/// <summary>Like <see cref="CategoricalCrossentropy"/> with the target given as a class index per vector.</summary>
public sealed class SparseCategoricalCrossentropy(bool fromLogits) : ILoss
{
    public string Name => "sparse_categorical_crossentropy";
    public int TargetWidth(int outputWidth) => 1;

    public double Compute(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, int width, Span<float> grad, float scale)
    {
        double sum = 0;
        Span<float> oneHot = width <= 1024 ? stackalloc float[width] : new float[width];
        for (int v = 0; v < target.Length; v++)
        {
            float label = target[v];
            int cls = (int)label;
            if (cls != label || cls < 0 || cls >= width)
                throw new ModelException($"sparse target {label} at vector {v} is not a class index in [0, {width})");
            oneHot.Clear();
            oneHot[cls] = 1f;
            var p = pred.Slice(v * width, width);
            var g = grad.Slice(v * width, width);
            sum += fromLogits ? Crossentropy.FromLogits(p, oneHot, g, scale) : Crossentropy.FromProbabilities(p, oneHot, g, scale);
        }
        return sum * scale;
    }
}

internal static class Crossentropy
{
    public static double FromLogits(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> g, float scale)
    {
        float max = float.NegativeInfinity;
        foreach (var v in z) max = MathF.Max(max, v);
        float sumExp = 0f, sumY = 0f;
        for (int i = 0; i < z.Length; i++)
        {
            sumExp += MathF.Exp(z[i] - max);
            sumY += y[i];
        }
        float logSum = MathF.Log(sumExp) + max;
        double loss = 0;
        for (int i = 0; i < z.Length; i++)
        {
            loss += -y[i] * (z[i] - logSum);
            g[i] = scale * (MathF.Exp(z[i] - logSum) * sumY - y[i]);
        }
        return loss;
    }

    public static double FromProbabilities(ReadOnlySpan<float> p, ReadOnlySpan<float> y, Span<float> g, float scale)
    {
        float total = 0f;
        foreach (var v in p) total += v;
        double loss = 0;
        float dTotal = 0f;
        for (int i = 0; i < p.Length; i++)
        {
            float q = p[i] / total;
            bool clipped = q < Losses.Epsilon || q > 1f - Losses.Epsilon;
            q = Math.Clamp(q, Losses.Epsilon, 1f - Losses.Epsilon);
            loss += -y[i] * MathF.Log(q);
            // d/dq of -y log q, then through q = p / total.
            float dq = clipped ? 0f : -y[i] / q;
            g[i] = dq / total;
            dTotal += dq * p[i] / (total * total);
        }
        for (int i = 0; i < p.Length; i++) g[i] = scale * (g[i] - dTotal);
        return loss;
    }
}
