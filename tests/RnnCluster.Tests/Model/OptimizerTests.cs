using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>
/// The optimizers against Keras's update formulas (keras.optimizers, Keras 3), computed by hand in
/// double precision on a small vector for three steps, and gradient clipping.
/// </summary>
public sealed class OptimizerTests
{
    private static readonly float[] Start = [0.5f, -1.25f, 2f, 0f, -0.3f, 0.05f];

    // Three steps of gradients: ordinary sizes, a zero, and small values (where an optimizer's
    // epsilon matters: a gradient of 1e-4 gives sqrt(v) ~ 3e-5, close to sqrt(1e-7) ~ 3e-4).
    private static readonly float[][] Gradients =
    [
        [0.2f, -0.5f, 1.5f, 0f, 1e-4f, -3e-4f],
        [-0.1f, -0.4f, 1.2f, 0.3f, 2e-4f, -1e-4f],
        [0.05f, 0.6f, -0.8f, -0.2f, -1e-4f, 2e-4f],
    ];

    /// <summary>The engine's float32 update is exact to a few float roundings of |w| (plus a floor for w near 0).</summary>
    private static void AssertWeights(double[] expected, float[] actual, string what) =>
        ModelTestData.AssertClose(expected, actual.Doubles(), 2e-6, 0.1, what);

    private static float[] Run(IOptimizer optimizer)
    {
        var w = (float[])Start.Clone();
        foreach (var g in Gradients) optimizer.Step(w, (float[])g.Clone());
        Assert.Equal(Gradients.Length, optimizer.Iterations);
        return w;
    }

    [Fact]
    public void Sgd_plain()
    {
        const double lr = 0.1;
        var w = Start.Doubles();
        foreach (var g in Gradients)
            for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
        AssertWeights(w, Run(new Sgd(0.1f)), "sgd");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sgd_momentum_and_nesterov(bool nesterov)
    {
        // Keras: m = momentum * m - lr * g; w += m, or with Nesterov w += momentum * m - lr * g.
        const double lr = 0.1, mu = 0.9;
        var w = Start.Doubles();
        var m = new double[w.Length];
        foreach (var g in Gradients)
            for (int i = 0; i < w.Length; i++)
            {
                m[i] = mu * m[i] - lr * g[i];
                w[i] += nesterov ? mu * m[i] - lr * g[i] : m[i];
            }
        AssertWeights(w, Run(new Sgd(0.1f, 0.9f, nesterov)), nesterov ? "sgd nesterov" : "sgd momentum");
        AssertWeights(w, Run(new OptimizerSpec { Kind = "sgd", LearningRate = 0.1f, Momentum = 0.9f, Nesterov = nesterov }.Create()), "sgd from spec");
    }

    [Fact]
    public void Adam()
    {
        // Keras: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
        // w -= alpha m / (sqrt(v) + eps).
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
        var w = Start.Doubles();
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= Gradients.Length; t++)
        {
            var g = Gradients[t - 1];
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                m[i] += (g[i] - m[i]) * (1 - b1);
                v[i] += ((double)g[i] * g[i] - v[i]) * (1 - b2);
                w[i] -= alpha * m[i] / (Math.Sqrt(v[i]) + eps);
            }
        }
        AssertWeights(w, Run(new Adam(0.01f)), "adam");
        AssertWeights(w, Run(new OptimizerSpec { Kind = "adam", LearningRate = 0.01f }.Create()), "adam from spec");
    }

    /// <summary>
    /// Keras RMSprop (keras/src/optimizers/rmsprop.py, update_step): v = rho v + (1 - rho) g^2;
    /// increment = lr g / sqrt(v + eps); with momentum m = momentum m + increment, w -= m;
    /// otherwise w -= increment. Epsilon is inside the square root.
    /// </summary>
    private static double[] KerasRmsProp(double lr, double rho, double momentum, double eps)
    {
        var w = Start.Doubles();
        var v = new double[w.Length];
        var m = new double[w.Length];
        foreach (var g in Gradients)
            for (int i = 0; i < w.Length; i++)
            {
                v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
                double increment = lr * g[i] / Math.Sqrt(v[i] + eps);
                if (momentum > 0)
                {
                    m[i] = momentum * m[i] + increment;
                    w[i] -= m[i];
                }
                else w[i] -= increment;
            }
        return w;
    }

    [Fact]
    public void RmsProp_without_momentum()
    {
        var expected = KerasRmsProp(0.01, 0.9, 0, 1e-7);
        AssertWeights(expected, Run(new RmsProp(0.01f, 0.9f)), "rmsprop");
    }

    [Fact]
    public void RmsProp_with_momentum()
    {
        var expected = KerasRmsProp(0.01, 0.9, 0.5, 1e-7);
        AssertWeights(expected, Run(new OptimizerSpec { Kind = "rmsprop", LearningRate = 0.01f, Rho = 0.9f, Momentum = 0.5f }.Create()), "rmsprop momentum");
    }

    [Fact]
    public void RmsProp_with_ordinary_gradients_is_insensitive_to_where_epsilon_goes()
    {
        // On gradients of size >= 1 both placements of epsilon agree to float precision (the
        // relative difference is about eps / (2 v) < 1e-6): this pins down everything in RMSprop
        // except the epsilon placement.
        var w = Start.Doubles();
        var v = new double[w.Length];
        var engine = new RmsProp(0.01f, 0.9f);
        var actual = (float[])Start.Clone();
        foreach (var g0 in Gradients)
        {
            var g = g0.Select(x => x < 0f ? x - 1f : x + 1f).ToArray();
            for (int i = 0; i < w.Length; i++)
            {
                v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i];
                w[i] -= 0.01 * g[i] / Math.Sqrt(v[i] + 1e-7);
            }
            engine.Step(actual, g);
        }
        AssertWeights(w, actual, "rmsprop on ordinary gradients");
    }

    [Fact]
    public void Clip_by_global_norm_scales_the_whole_gradient()
    {
        var g = new float[] { 3f, 0f, -4f };
        Clipping.Apply(g, clipNorm: 1f, clipValue: null);
        ModelTestData.AssertClose([0.6, 0, -0.8], g.Doubles(), 1e-6, 1, "clipped to norm 1");

        var small = new float[] { 0.3f, -0.4f };
        Clipping.Apply(small, clipNorm: 1f, clipValue: null);
        Assert.Equal([0.3f, -0.4f], small);

        // Through an optimizer: SGD(lr = 1) from 0 moves by minus the clipped gradient.
        var w = new float[3];
        new OptimizerSpec { Kind = "sgd", LearningRate = 1f, ClipNorm = 2.5f }.Create().Step(w, [3f, 0f, -4f]);
        ModelTestData.AssertClose([-1.5, 0, 2], w.Doubles(), 1e-6, 1, "sgd with global_clipnorm");
    }

    [Fact]
    public void Clip_by_value_clamps_every_component()
    {
        var g = new float[] { 3f, -0.2f, -4f, 0.5f };
        Clipping.Apply(g, clipNorm: null, clipValue: 0.5f);
        Assert.Equal([0.5f, -0.2f, -0.5f, 0.5f], g);

        var w = new float[4];
        new OptimizerSpec { Kind = "sgd", LearningRate = 1f, ClipValue = 1f }.Create().Step(w, [3f, -0.2f, -4f, 0.5f]);
        Assert.Equal([-1f, 0.2f, 1f, -0.5f], w);
    }

    [Fact]
    public void Train_on_batch_clips_the_batch_mean_gradient()
    {
        // Keras clips the gradient the optimizer receives: the mean over the batch.
        var spec = new ModelSpec { InputFeatures = 2, Layers = [new LayerSpec { Kind = LayerKinds.Gru, Units = 3 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 2 }] };
        var model = Sequential.FromSpec(spec, new MklKernels(), 3);
        var random = new Random(4);
        var x = ModelTestData.Uniform(random, -1, 1, 4, 5, 2);
        var y = ModelTestData.Uniform(random, 2, 3, 4, 2);
        model.Compile("mse", new OptimizerSpec { Kind = "sgd", LearningRate = 0.5f, ClipNorm = 0.1f }.Create());
        var before = model.Parameters.ToArray();
        var grads = model.ComputeGradients(x, y);
        var mean = grads.GradientSum.Select(g => (double)g / 4).ToArray();
        double norm = Math.Sqrt(mean.Sum(g => g * g));
        Assert.True(norm > 0.1, "the case must actually clip");
        model.TrainOnBatch(x, y);
        var expected = before.Select((w, i) => w - 0.5 * mean[i] * 0.1 / norm).ToArray();
        ModelTestData.AssertClose(expected, model.Parameters.ToArray().Doubles(), 1e-5, 0.1, "weights after a clipped step");
    }

    [Fact]
    public void Unknown_optimizer_is_refused()
    {
        var e = Assert.Throws<ModelException>(() => new OptimizerSpec { Kind = "adagrad" }.Create());
        Assert.Contains("adagrad", e.Message);
    }
}
