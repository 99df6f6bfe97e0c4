using RnnCluster.Numerics;

namespace RnnCluster.Model.Cells;

/// <summary>Whole-buffer activations built on the kernels' vectorised tanh.</summary>
internal static class Elementwise
{
    /// <summary>
    /// sigmoid(x) = 0.5 tanh(x / 2) + 0.5: one vectorised tanh instead of exp + division,
    /// and exact to float precision.
    /// </summary>
    public static void SigmoidInPlace(IMathKernels kernels, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= 0.5f;
        kernels.Tanh(x, x);
        for (int i = 0; i < x.Length; i++) x[i] = 0.5f * x[i] + 0.5f;
    }
}
