using System.Numerics;

namespace RnnCluster.Numerics;

/// <summary>
/// MKL's entry points for one real element type (<see cref="MklDouble"/>: the d-routines,
/// <see cref="MklSingle"/>: the s-routines), so that the MathNet provider's float and double halves
/// are one generic code path (<see cref="MklRealProvider{T, TMkl}"/>). Matrices are column-major.
/// </summary>
internal unsafe interface IMklReal<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract void Gemm(int transA, int transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc);

    /// <summary>Solves op(A) X = alpha B in place of B, A triangular (m x m, on the left).</summary>
    static abstract void Trsm(int uplo, int transA, int m, int n, T alpha, T* a, int lda, T* b, int ldb);

    static abstract void Axpy(int n, T alpha, T* x, T* y);

    static abstract void Scal(int n, T alpha, T* x);

    static abstract T Dot(int n, T* x, T* y);

    /// <summary>Householder QR in place: R on and above the diagonal, the reflectors below, their scalars in tau.</summary>
    static abstract int Geqrf(int m, int n, T* a, int lda, T* tau);

    /// <summary>The first n columns of Q from k reflectors as <see cref="Geqrf"/> left them.</summary>
    static abstract int Orgqr(int m, int n, int k, T* a, int lda, T* tau);
}

internal readonly unsafe struct MklDouble : IMklReal<double>
{
    public static void Gemm(int transA, int transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc) =>
        MklNative.Dgemm(MklNative.ColMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public static void Trsm(int uplo, int transA, int m, int n, double alpha, double* a, int lda, double* b, int ldb) =>
        MklNative.Dtrsm(MklNative.ColMajor, MklNative.Left, uplo, transA, MklNative.NonUnit, m, n, alpha, a, lda, b, ldb);

    public static void Axpy(int n, double alpha, double* x, double* y) => MklNative.Daxpy(n, alpha, x, 1, y, 1);

    public static void Scal(int n, double alpha, double* x) => MklNative.Dscal(n, alpha, x, 1);

    public static double Dot(int n, double* x, double* y) => MklNative.Ddot(n, x, 1, y, 1);

    public static int Geqrf(int m, int n, double* a, int lda, double* tau) => MklNative.Dgeqrf(MklNative.ColMajor, m, n, a, lda, tau);

    public static int Orgqr(int m, int n, int k, double* a, int lda, double* tau) => MklNative.Dorgqr(MklNative.ColMajor, m, n, k, a, lda, tau);
}

internal readonly unsafe struct MklSingle : IMklReal<float>
{
    public static void Gemm(int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        MklNative.Sgemm(MklNative.ColMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public static void Trsm(int uplo, int transA, int m, int n, float alpha, float* a, int lda, float* b, int ldb) =>
        MklNative.Strsm(MklNative.ColMajor, MklNative.Left, uplo, transA, MklNative.NonUnit, m, n, alpha, a, lda, b, ldb);

    public static void Axpy(int n, float alpha, float* x, float* y) => MklNative.Saxpy(n, alpha, x, 1, y, 1);

    public static void Scal(int n, float alpha, float* x) => MklNative.Sscal(n, alpha, x, 1);

    public static float Dot(int n, float* x, float* y) => MklNative.Sdot(n, x, 1, y, 1);

    public static int Geqrf(int m, int n, float* a, int lda, float* tau) => MklNative.Sgeqrf(MklNative.ColMajor, m, n, a, lda, tau);

    public static int Orgqr(int m, int n, int k, float* a, int lda, float* tau) => MklNative.Sorgqr(MklNative.ColMajor, m, n, k, a, lda, tau);
}
