using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace RnnCluster.Model;

/// <summary>
/// An optimizer's description (JSON, travels in job files and checkpoints): kind sgd, adam or
/// rmsprop, Keras's defaults, and optional clipping of the averaged gradient.
/// </summary>
public sealed record OptimizerSpec
{
    public string Kind { get; init; } = "adam";
    public float LearningRate { get; init; } = 0.001f;
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float Epsilon { get; init; } = 1e-7f;
    public float Momentum { get; init; }
    public bool Nesterov { get; init; }
    public float Rho { get; init; } = 0.9f;

    /// <summary>Clip the whole gradient to this global L2 norm (Keras global_clipnorm).</summary>
    public float? ClipNorm { get; init; }

    /// <summary>Clip every gradient value to [-v, v] (Keras clipvalue).</summary>
    public float? ClipValue { get; init; }

    public IOptimizer Create() => Kind.Trim().ToLowerInvariant() switch
    {
        "adam" => new Adam(this),
        "sgd" => new Sgd(this),
        "rmsprop" => new RmsProp(this),
        _ => throw new ModelException($"unknown optimizer '{Kind}': expected sgd, adam or rmsprop"),
    };
}

/// <summary>Updates a flat parameter vector from the batch-mean gradient, in place.</summary>
public interface IOptimizer
{
    OptimizerSpec Spec { get; }

    /// <summary>Number of updates applied so far.</summary>
    long Iterations { get; }

    /// <summary>Clips <paramref name="gradients"/> (in place) as the spec asks, then updates <paramref name="parameters"/>.</summary>
    void Step(Span<float> parameters, Span<float> gradients);

    /// <summary>A copy of everything the next updates depend on: the step count and the moment slots.</summary>
    OptimizerState GetState();

    /// <summary>Continues from a state taken with <see cref="GetState"/> (a checkpoint): the next steps give the same bits.</summary>
    void SetState(OptimizerState state);
}

/// <summary>
/// An optimizer's state between steps: <see cref="Iterations"/> updates done and its two moment
/// slots over the flat parameter vector (Adam: m and v; RMSprop: v and the momentum; SGD: the
/// momentum and an unused slot), empty before the first step.
/// </summary>
public sealed record OptimizerState(long Iterations, float[] Slot1, float[] Slot2);

public abstract class OptimizerBase(OptimizerSpec spec) : IOptimizer
{
    public OptimizerSpec Spec { get; } = spec;
    public long Iterations { get; private set; }

    [JsonIgnore]
    protected float[] Slot1 { get; private set; } = [];

    [JsonIgnore]
    protected float[] Slot2 { get; private set; } = [];

    public void Step(Span<float> parameters, Span<float> gradients)
    {
        if (parameters.Length != gradients.Length)
            throw new ModelException($"gradient has {gradients.Length} values, parameters {parameters.Length}");
        if (Slot1.Length != parameters.Length)
        {
            Slot1 = new float[parameters.Length];
            Slot2 = new float[parameters.Length];
        }
        Clipping.Apply(gradients, Spec.ClipNorm, Spec.ClipValue);
        Iterations++;
        Update(parameters, gradients, Iterations);
    }

    public OptimizerState GetState() => new(Iterations, (float[])Slot1.Clone(), (float[])Slot2.Clone());

    public void SetState(OptimizerState state)
    {
        if (state.Iterations < 0) throw new ModelException($"optimizer state: {state.Iterations} iterations");
        if (state.Slot1.Length != state.Slot2.Length)
            throw new ModelException($"optimizer state: slots of {state.Slot1.Length} and {state.Slot2.Length} values");
        Iterations = state.Iterations;
        Slot1 = (float[])state.Slot1.Clone();
        Slot2 = (float[])state.Slot2.Clone();
    }

    protected abstract void Update(Span<float> w, ReadOnlySpan<float> g, long t);
}

/// <summary>Keras Adam: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); w -= lr_t m / (sqrt(v) + eps).</summary>
public sealed class Adam(OptimizerSpec spec) : OptimizerBase(spec)
{
    public Adam(float learningRate = 0.001f) : this(new OptimizerSpec { Kind = "adam", LearningRate = learningRate }) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> w, ReadOnlySpan<float> g, long t)
    {
        float b1 = Spec.Beta1, b2 = Spec.Beta2, eps = Spec.Epsilon;
        float lrT = (float)(Spec.LearningRate * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t)));
        var m = Slot1;
        var v = Slot2;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && w.Length >= 8)
        {
            // The same operations in the same order as the scalar loop, 8 at a time: same bits.
            var c1 = Vector256.Create(1f - b1);
            var c2 = Vector256.Create(1f - b2);
            var lr = Vector256.Create(lrT);
            var ve = Vector256.Create(eps);
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float gr = ref MemoryMarshal.GetReference(g);
            ref float mr = ref MemoryMarshal.GetArrayDataReference(m);
            ref float vr = ref MemoryMarshal.GetArrayDataReference(v);
            for (; i + 8 <= w.Length; i += 8)
            {
                nuint at = (nuint)i;
                var gi = Vector256.LoadUnsafe(ref gr, at);
                var mi = Vector256.LoadUnsafe(ref mr, at);
                var vi = Vector256.LoadUnsafe(ref vr, at);
                mi += (gi - mi) * c1;
                vi += (gi * gi - vi) * c2;
                mi.StoreUnsafe(ref mr, at);
                vi.StoreUnsafe(ref vr, at);
                (Vector256.LoadUnsafe(ref wr, at) - lr * mi / (Vector256.Sqrt(vi) + ve)).StoreUnsafe(ref wr, at);
            }
        }
        for (; i < w.Length; i++)
        {
            m[i] += (g[i] - m[i]) * (1f - b1);
            v[i] += (g[i] * g[i] - v[i]) * (1f - b2);
            w[i] -= lrT * m[i] / (MathF.Sqrt(v[i]) + eps);
        }
    }
}

/// <summary>Keras SGD: m = momentum m - lr g; w += m (or momentum m - lr g with Nesterov).</summary>
public sealed class Sgd(OptimizerSpec spec) : OptimizerBase(spec)
{
    public Sgd(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false)
        : this(new OptimizerSpec { Kind = "sgd", LearningRate = learningRate, Momentum = momentum, Nesterov = nesterov }) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> w, ReadOnlySpan<float> g, long t)
    {
        float lr = Spec.LearningRate, mu = Spec.Momentum;
        if (mu == 0f)
        {
            for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
            return;
        }
        var m = Slot1;
        for (int i = 0; i < w.Length; i++)
        {
            m[i] = mu * m[i] - lr * g[i];
            w[i] += Spec.Nesterov ? mu * m[i] - lr * g[i] : m[i];
        }
    }
}

/// <summary>Keras RMSprop: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps); optional momentum.</summary>
public sealed class RmsProp(OptimizerSpec spec) : OptimizerBase(spec)
{
    public RmsProp(float learningRate = 0.001f, float rho = 0.9f)
        : this(new OptimizerSpec { Kind = "rmsprop", LearningRate = learningRate, Rho = rho }) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> w, ReadOnlySpan<float> g, long t)
    {
        float lr = Spec.LearningRate, rho = Spec.Rho, eps = Spec.Epsilon, mu = Spec.Momentum;
        var v = Slot1;
        var m = Slot2;
        for (int i = 0; i < w.Length; i++)
        {
            v[i] = rho * v[i] + (1f - rho) * g[i] * g[i];
            float step = lr * g[i] / MathF.Sqrt(v[i] + eps);
            if (mu > 0f)
            {
                m[i] = mu * m[i] + step;
                w[i] -= m[i];
            }
            else w[i] -= step;
        }
    }
}

public static class Clipping
{
    public static void Apply(Span<float> g, float? clipNorm, float? clipValue)
    {
        if (clipValue is { } cv)
            for (int i = 0; i < g.Length; i++) g[i] = Math.Clamp(g[i], -cv, cv);
        if (clipNorm is { } cn)
        {
            double sq = 0;
            foreach (var v in g) sq += (double)v * v;
            double norm = Math.Sqrt(sq);
            if (norm > cn)
            {
                float f = (float)(cn / norm);
                for (int i = 0; i < g.Length; i++) g[i] *= f;
            }
        }
    }
}
