namespace RnnCluster.Numerics;

/// <summary>
/// The handful of float32 primitives the RNN engine's hot loops need, on caller-owned buffers
/// (row-major, no allocation). Two implementations: <see cref="MklKernels"/> (the default) and
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
}

/// <summary>Which math backs the engine and MathNet: MKL (default) or managed code.</summary>
public enum MathKind
{
    Mkl,
    Managed,
}
