using System.Numerics;
using System.Runtime.InteropServices;

namespace RnnCluster.Numerics;

/// <summary>
/// Engine primitives in plain C# (SIMD where it is cheap). Used only when asked for
/// (<c>RNNCLUSTER_MATH=managed</c>): it is several times slower than MKL.
/// </summary>
public sealed class ManagedKernels(int threads = 1) : IMathKernels
{
    public MathKind Kind => MathKind.Managed;

    /// <summary>
    /// 1 unless given: the engine then splits its time loops over two threads of its own as it
    /// does with MKL threads (each of these primitives runs on the calling thread whatever this says).
    /// </summary>
    public int Threads { get; } = threads >= 1 ? threads : throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");

    /// <summary>Nothing to do: every call runs on the calling thread alone.</summary>
    public void UseOneThreadOnThisThread()
    {
    }

    /// <summary>op(B) as a row-major k x n float matrix (m does not matter here).</summary>
    public long PackedSize(int m, int n, int k) => (long)k * n * sizeof(float);

    /// <summary>
    /// Copies op(B) row-major, transposing once here instead of in every product: the products
    /// then stream rows of B (<see cref="Gemm"/>'s SIMD axpy path).
    /// </summary>
    public void PackB(bool transB, int m, int n, int k, ReadOnlySpan<float> b, int ldb, Span<byte> packed)
    {
        var target = Floats(packed, n, k);
        for (int p = 0; p < k; p++)
        {
            var row = target.Slice(p * n, n);
            if (transB)
                for (int j = 0; j < n; j++) row[j] = b[j * ldb + p];
            else b.Slice(p * ldb, n).CopyTo(row);
        }
    }

    public void GemmPacked(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<byte> packed, float beta, Span<float> c, int ldc) =>
        Gemm(false, false, m, n, k, 1f, a, lda, MemoryMarshal.Cast<byte, float>(packed)[..(k * n)], n, beta, c, ldc);

    private static Span<float> Floats(Span<byte> packed, int n, int k)
    {
        if (packed.Length < (long)k * n * sizeof(float))
            throw new ArgumentException($"packed operand {k} x {n} needs {(long)k * n * sizeof(float)} bytes, the buffer holds {packed.Length}");
        return MemoryMarshal.Cast<byte, float>(packed)[..(k * n)];
    }

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
