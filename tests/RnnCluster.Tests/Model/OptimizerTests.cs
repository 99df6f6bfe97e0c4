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

    // Keras RMSprop (keras/src/optimizers/rmsprop.py, update_step) after the three steps, from
    // tools/rmsprop_reference.py (an independent float64 transcription of Keras's update_step):
    // v = rho v + (1 - rho) g^2; increment = lr g / sqrt(v + eps) (epsilon inside the root);
    // with momentum m = momentum m + increment, w -= m; otherwise w -= increment.
    private static readonly double[] KerasRmsPropThreeSteps =
        [0.475575379515111, -1.220564719840436, 1.9610405136801072, -0.013440856108645982, -0.30624161125154653, 0.05614318276096032];

    private static readonly double[] KerasRmsPropMomentumThreeSteps =
        [0.45923061358951683, -1.186654758864655, 1.927130498626122, -0.02925215433093704, -0.31168908645962745, 0.06447199830237003];

    [Fact]
    public void RmsProp_one_step_by_hand()
    {
        // w = 0.5, g = 0.2, lr = 0.01, rho = 0.9: v = 0.1 * 0.04 = 0.004; sqrt(0.004 + 1e-7) = 0.06324634;
        // w = 0.5 - 0.002 / 0.06324634 = 0.5 - 0.03162238 = 0.46837762. A zero gradient leaves w alone.
        var w = new float[] { 0.5f, 2f };
        new RmsProp(0.01f, 0.9f).Step(w, [0.2f, 0f]);
        Assert.Equal(0.46837762, w[0], 6);
        Assert.Equal(2f, w[1]);
    }

    [Fact]
    public void RmsProp_without_momentum() =>
        AssertWeights(KerasRmsPropThreeSteps, Run(new RmsProp(0.01f, 0.9f)), "rmsprop");

    [Fact]
    public void RmsProp_with_momentum() =>
        AssertWeights(KerasRmsPropMomentumThreeSteps, Run(new OptimizerSpec { Kind = "rmsprop", LearningRate = 0.01f, Rho = 0.9f, Momentum = 0.5f }.Create()), "rmsprop momentum");

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
