namespace RnnCluster.Numerics;

/// <summary>
/// The handful of float32 primitives the RNN engine's hot loops need, on caller-owned buffers
/// (row-major, no allocation): products (plain, and with a right-hand operand packed once for many
/// products), VML-style element-wise functions, BLAS level 1, and the thread control the
/// engine's two-thread time loop needs. Two implementations: <see cref="MklKernels"/> (the default) and
/// <see cref="ManagedKernels"/> (only when asked for).
/// </summary>
public interface IMathKernels
{
    MathKind Kind { get; }

    /// <summary>Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) m x k and op(B) k x n.</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);

    /// <summary>y = tanh(x); x and y may be the same buffer.</summary>
    void Tanh(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>y = exp(x); x and y may be the same buffer.</summary>
    void Exp(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>y += alpha * x.</summary>
    void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>x *= alpha.</summary>
    void Scale(float alpha, Span<float> x);

    float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y);

    /// <summary>
    /// Bytes of storage <see cref="PackB"/> needs for a k x n right-hand operand of products with up
    /// to m rows. Storage must be 64-byte aligned and stay where it is between packing and the products.
    /// </summary>
    long PackedSize(int m, int n, int k);

    /// <summary>
    /// Prepares op(B) (k x n; B row-major with leading dimension <paramref name="ldb"/>) as the
    /// right-hand operand of many products <see cref="GemmPacked"/>: MKL's packed format
    /// (<c>cblas_sgemm_pack</c>; the products give the same bits as plain <see cref="Gemm"/>), or for
    /// managed math op(B) copied row-major.
    /// </summary>
    void PackB(bool transB, int m, int n, int k, ReadOnlySpan<float> b, int ldb, Span<byte> packed);

    /// <summary>Row-major C = A * B + beta * C with A m x k and B packed by <see cref="PackB"/> (for at least m rows).</summary>
    void GemmPacked(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<byte> packed, float beta, Span<float> c, int ldc);

    /// <summary>How many threads the backend was configured with for the process (MKL: RNNCLUSTER_MKL_THREADS).</summary>
    int Threads { get; }

    /// <summary>
    /// From now on, this backend's calls on the calling thread use one thread (MKL: its thread-local
    /// count, so an OpenMP team never starts there). For threads that run their own share of the work.
    /// </summary>
    void UseOneThreadOnThisThread();
}

/// <summary>Which math backs the engine and MathNet: MKL (default) or managed code.</summary>
public enum MathKind
{
    Mkl,
    Managed,
}
