using MathNet.Numerics.Providers.LinearAlgebra;
using RnnCluster.Numerics;

namespace RnnCluster.Model;

/// <summary>
/// Keras's default initializers, driven by one seeded generator so that a seed makes a model's
/// starting weights the same bit for bit: glorot_uniform kernels, orthogonal recurrent kernels,
/// zero biases with LSTM's unit forget bias.
/// </summary>
public static class Initializers
{
    /// <summary>
    /// The network's starting weights for <paramref name="seed"/>. <paramref name="linearAlgebra"/> is
    /// the provider the orthogonal initializer's QR runs in (default: see <see cref="Orthogonal"/>).
    /// </summary>
    public static float[] InitialParameters(Network network, int seed, ILinearAlgebraProvider<double>? linearAlgebra = null)
    {
        var random = new Random(seed);
        var parameters = new float[network.ParameterCount];
        foreach (var layer in network.Layers)
        {
            var w = layer.Weights;
            if (w.Count == 0) continue;
            if (layer is EmbeddingLayer e)
            {
                // Keras Embedding's default: RandomUniform(-0.05, 0.05).
                var target = parameters.AsSpan(e.Embeddings.Offset, e.Embeddings.Length);
                for (int i = 0; i < target.Length; i++) target[i] = (float)((random.NextDouble() * 2 - 1) * 0.05);
                continue;
            }
            GlorotUniform(random, parameters.AsSpan(w[0].Offset, w[0].Length), w[0].Shape[0], w[0].Shape[1]);
            if (layer is RecurrentLayer r)
            {
                Orthogonal(random, parameters.AsSpan(r.RecurrentKernel.Offset, r.RecurrentKernel.Length), r.RecurrentKernel.Shape[0], r.RecurrentKernel.Shape[1], linearAlgebra);
                if (layer.Spec.Kind == LayerKinds.Lstm)
                    parameters.AsSpan(r.Bias.Offset + layer.Spec.Units, layer.Spec.Units).Fill(1f);
            }
        }
        return parameters;
    }

    public static void GlorotUniform(Random random, Span<float> target, int fanIn, int fanOut)
    {
        double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
        for (int i = 0; i < target.Length; i++) target[i] = (float)((random.NextDouble() * 2 - 1) * limit);
    }

    /// <summary>
    /// Keras Orthogonal(gain=1): thin QR of a normal matrix, signs fixed by R's diagonal. The QR
    /// (O(rows cols min(rows, cols)), seconds in managed code for a 768-unit LSTM) runs in MKL's
    /// LAPACK whenever this process has loaded MKL, else in MathNet's managed provider. It is chosen
    /// here, not through the process-global <c>LinearAlgebraControl.Provider</c>, which a program may
    /// switch while another thread initializes weights: within a process, a seed always gives the same bits.
    /// </summary>
    public static void Orthogonal(Random random, Span<float> target, int rows, int cols, ILinearAlgebraProvider<double>? linearAlgebra = null)
    {
        int big = Math.Max(rows, cols), small = Math.Min(rows, cols);
        // Column-major (as MathNet stores matrices), drawn column by column.
        var q = new double[big * small];
        for (int i = 0; i < q.Length; i++) q[i] = Normal(random);
        var r = new double[small * small];
        var provider = linearAlgebra ?? (Mkl.IsLoaded ? MklLinearAlgebraProvider.Instance : ManagedLinearAlgebraProvider.Instance);
        provider.ThinQRFactor(q, big, small, r, new double[small]);
        for (int j = 0; j < small; j++)
        {
            if (r[j * small + j] >= 0) continue;
            for (int i = 0; i < big; i++) q[j * big + i] = -q[j * big + i];
        }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                target[i * cols + j] = (float)(rows >= cols ? q[j * big + i] : q[i * big + j]);
    }

    private static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
