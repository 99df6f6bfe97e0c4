using System.Runtime.Intrinsics;
using RnnCluster.Model.Cells;
using Xunit;

namespace RnnCluster.Tests.Model;

/// <summary>The cells' vectorised activations against double-precision references over the float range that matters.</summary>
public sealed class SimdMathTests
{
    private static IEnumerable<float> Inputs()
    {
        for (float x = -20f; x <= 20f; x += 0.00731f) yield return x;
        foreach (var x in new[] { 0f, -0f, 1e-30f, -1e-30f, 1e-7f, 0.29999f, 0.3f, 0.30001f, 88f, -88f, 100f, -100f, float.MaxValue, float.MinValue })
            yield return x;
    }

    [Fact]
    public void Vector_tanh_matches_within_two_parts_in_ten_million()
    {
        Assert.True(SimdMath.IsAccelerated, "this machine should run the AVX2 path (the scalar tail is tested by odd sizes)");
        foreach (var x in Inputs())
        {
            float got = SimdMath.Tanh(Vector256.Create(x)).GetElement(0);
            double expected = Math.Tanh(x);
            Assert.True(Math.Abs(got - expected) <= 2e-7 * Math.Abs(expected) + 1e-38, $"tanh({x:R}) = {got:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void Vector_sigmoid_and_exp_match()
    {
        foreach (var x in Inputs().Where(v => Math.Abs(v) < 80))
        {
            float sig = SimdMath.Sigmoid(Vector256.Create(x)).GetElement(0);
            double expected = 1 / (1 + Math.Exp(-x));
            Assert.True(Math.Abs(sig - expected) <= 3e-7 * expected, $"sigmoid({x:R}) = {sig:R}, expected {expected:R}");
            float e = SimdMath.Exp(Vector256.Create(x)).GetElement(0);
            Assert.True(Math.Abs(e - Math.Exp(x)) <= 3e-7 * Math.Exp(x), $"exp({x:R}) = {e:R}, expected {Math.Exp(x):R}");
        }
    }

    [Fact]
    public void Span_tanh_covers_vector_body_and_scalar_tail()
    {
        var x = Enumerable.Range(0, 19).Select(i => (i - 9) * 0.37f).ToArray();
        var y = new float[x.Length];
        SimdMath.Tanh(x, y);
        for (int i = 0; i < x.Length; i++) Assert.Equal(Math.Tanh(x[i]), y[i], 1e-6);
    }
}
