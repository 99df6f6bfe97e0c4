using MathNet.Numerics.LinearAlgebra;

namespace RnnCluster.Model;

/// <summary>
/// Keras's default initializers, driven by one seeded generator so that a seed makes a model's
/// starting weights the same bit for bit: glorot_uniform kernels, orthogonal recurrent kernels,
/// zero biases with LSTM's unit forget bias.
/// </summary>
public static class Initializers
{
    public static float[] InitialParameters(Network network, int seed)
    {
        var random = new Random(seed);
        var parameters = new float[network.ParameterCount];
        foreach (var layer in network.Layers)
        {
            var w = layer.Weights;
            if (w.Count == 0) continue;
            GlorotUniform(random, parameters.AsSpan(w[0].Offset, w[0].Length), w[0].Shape[0], w[0].Shape[1]);
            if (layer is RecurrentLayer r)
            {
                Orthogonal(random, parameters.AsSpan(r.RecurrentKernel.Offset, r.RecurrentKernel.Length), r.RecurrentKernel.Shape[0], r.RecurrentKernel.Shape[1]);
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

    /// <summary>Keras Orthogonal(gain=1): QR of a normal matrix, signs fixed by R's diagonal.</summary>
    public static void Orthogonal(Random random, Span<float> target, int rows, int cols)
    {
        int big = Math.Max(rows, cols), small = Math.Min(rows, cols);
        var a = Matrix<double>.Build.Dense(big, small, (_, _) => Normal(random));
        var qr = a.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin);
        var q = qr.Q;
        for (int j = 0; j < small; j++)
            if (qr.R[j, j] < 0) q.SetColumn(j, q.Column(j).Negate());
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                target[i * cols + j] = (float)(rows >= cols ? q[i, j] : q[j, i]);
    }

    private static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
