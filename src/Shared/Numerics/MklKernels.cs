namespace RnnCluster.Numerics;

/// <summary>Engine primitives computed by MKL (cblas, its packed GEMM, VML) on the caller's buffers.</summary>
public sealed unsafe class MklKernels : IMathKernels
{
    public MklKernels(int threads = 1) => Mkl.EnsureLoaded(threads);

    public MathKind Kind => MathKind.Mkl;

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0) return;
        // MKL reads and writes through raw pointers: check the spans hold what the shapes say.
        CheckMatrix("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckMatrix("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckMatrix("C", c.Length, m, n, ldc);
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

    public long PackedSize(int m, int n, int k) => (long)MklNative.SgemmPackGetSize(MklNative.PackBMatrix, m, n, k);

    public void PackB(bool transB, int m, int n, int k, ReadOnlySpan<float> b, int ldb, Span<byte> packed)
    {
        CheckMatrix("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckPacked(packed.Length, m, n, k);
        fixed (float* pb = b)
        fixed (byte* pp = packed)
            MklNative.SgemmPack(MklNative.RowMajor, MklNative.PackBMatrix, transB ? MklNative.Trans : MklNative.NoTrans,
                m, n, k, 1f, pb, ldb, (float*)pp);
    }

    public void GemmPacked(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<byte> packed, float beta, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0) return;
        CheckMatrix("A", a.Length, m, k, lda);
        CheckMatrix("C", c.Length, m, n, ldc);
        CheckPacked(packed.Length, m, n, k);
        fixed (float* pa = a)
        fixed (byte* pp = packed)
        fixed (float* pc = c)
            MklNative.SgemmCompute(MklNative.RowMajor, MklNative.NoTrans, MklNative.Packed, m, n, k, pa, lda, (float*)pp, n, beta, pc, ldc);
    }

    /// <summary>The process's MKL thread count (<see cref="Mkl.ConfiguredThreads"/>), not the calling thread's.</summary>
    public int Threads => Math.Max(1, Mkl.ConfiguredThreads);

    /// <summary>
    /// MKL's thread-local count set to 1 for the calling thread, for every MKL call it makes from now
    /// on: an OpenMP team started by any MKL call on a thread that runs part of a split pass would
    /// leave a worker spinning on the second core, slowing the other part's next pass to a crawl
    /// (measured: 40 ms instead of 14 ms per step).
    /// </summary>
    public void UseOneThreadOnThisThread()
    {
        if (_oneThreadHere) return;
        MklNative.SetNumThreadsLocal(1);
        _oneThreadHere = true;
    }

    [ThreadStatic]
    private static bool _oneThreadHere;

    private void CheckPacked(int length, int m, int n, int k)
    {
        if (length < PackedSize(m, n, k))
            throw new ArgumentException($"packed operand for {m} x {k} by {k} x {n} products needs {PackedSize(m, n, k)} bytes, the buffer holds {length}");
    }

    private static void CheckMatrix(string name, int length, int rows, int cols, int ld)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols || (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"gemm: {name} is {rows} x {cols} with leading dimension {ld}, but its buffer holds {length} values");
    }

    private static void Check(int x, int y)
    {
        if (x != y) throw new ArgumentException($"buffer lengths differ: {x} vs {y}");
    }
}
