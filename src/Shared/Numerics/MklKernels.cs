namespace RnnCluster.Numerics;

/// <summary>Engine primitives computed by MKL (cblas + VML) on the caller's buffers.</summary>
public sealed unsafe class MklKernels : IMathKernels
{
    public MklKernels(int threads = 1) => Mkl.EnsureLoaded(threads);

    public MathKind Kind => MathKind.Mkl;

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0) return;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            MklNative.Sgemm(MklNative.RowMajor, transA ? MklNative.Trans : MklNative.NoTrans,
                transB ? MklNative.Trans : MklNative.NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    public void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length);
        if (x.Length == 0) return;
        fixed (float* px = x)
        fixed (float* py = y)
            MklNative.VsTanh(x.Length, px, py);
    }

    public void Exp(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length);
        if (x.Length == 0) return;
        fixed (float* px = x)
        fixed (float* py = y)
            MklNative.VsExp(x.Length, px, py);
    }

    public void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length);
        if (x.Length == 0) return;
        fixed (float* px = x)
        fixed (float* py = y)
            MklNative.Saxpy(x.Length, alpha, px, 1, py, 1);
    }

    public void Scale(float alpha, Span<float> x)
    {
        if (x.Length == 0) return;
        fixed (float* px = x)
            MklNative.Sscal(x.Length, alpha, px, 1);
    }

    public float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Check(x.Length, y.Length);
        if (x.Length == 0) return 0f;
        fixed (float* px = x)
        fixed (float* py = y)
            return MklNative.Sdot(x.Length, px, 1, py, 1);
    }

    private static void Check(int x, int y)
    {
        if (x != y) throw new ArgumentException($"buffer lengths differ: {x} vs {y}");
    }
}
