using System.Numerics;
using System.Runtime.InteropServices;

namespace RnnCluster.Numerics;

/// <summary>
/// Engine primitives in plain C# (SIMD where it is cheap). Used only when asked for
/// (<c>RNNCLUSTER_MATH=managed</c>): it is several times slower than MKL.
/// </summary>
public sealed class ManagedKernels : IMathKernels
{
    public MathKind Kind => MathKind.Managed;

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) Scale(beta, row);
            if (!transB)
            {
                // c[i,:] += alpha * a[i,p] * b[p,:], streaming rows of B.
                for (int p = 0; p < k; p++)
                {
                    float aip = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
                    if (aip != 0f) Axpy(aip, b.Slice(p * ldb, n), row);
                }
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    var bj = b.Slice(j * ldb, k);
                    float sum = 0f;
                    if (!transA) sum = Dot(a.Slice(i * lda, k), bj);
                    else
                        for (int p = 0; p < k; p++) sum += a[p * lda + i] * bj[p];
                    row[j] += alpha * sum;
                }
            }
        }
    }

    public void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = MathF.Tanh(x[i]);
    }

    public void Exp(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = MathF.Exp(x[i]);
    }

    public void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (int v = 0; v < vx.Length; v++) vy[v] += alpha * vx[v];
            i = vx.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) y[i] += alpha * x[i];
    }

    public void Scale(float alpha, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= alpha;
    }

    public float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }
}
