using System.Numerics;
using System.Runtime.InteropServices;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra.Factorization;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace RnnCluster.Numerics;

/// <summary>
/// MathNet.Numerics linear-algebra provider backed by Intel MKL's cblas for the real-valued
/// (float and double) hot paths: matrix products (<c>?gemm</c>, every transpose combination),
/// <c>?axpy</c>, <c>?scal</c> and <c>?dot</c>. Everything else (factorisations, solvers, norms,
/// point-wise operations and all complex types) is delegated to
/// <see cref="ManagedLinearAlgebraProvider.Instance"/>.
/// </summary>
/// <remarks>
/// MathNet dense matrices are column-major arrays, so every call uses <c>CblasColMajor</c> with
/// leading dimensions equal to the stored row counts. MKL itself is loaded and configured by
/// <see cref="Mkl.EnsureLoaded"/>; this provider never reconfigures an MKL that is already loaded
/// (whatever its thread count), so <see cref="MathBackend.Start"/> may load MKL with several threads
/// first and then install this provider.
/// </remarks>
public sealed unsafe class MklLinearAlgebraProvider :
    ILinearAlgebraProvider,
    ILinearAlgebraProvider<double>,
    ILinearAlgebraProvider<float>,
    ILinearAlgebraProvider<Complex>,
    ILinearAlgebraProvider<Complex32>
{
    private static readonly ManagedLinearAlgebraProvider Managed = ManagedLinearAlgebraProvider.Instance;

    private static readonly Lazy<bool> Loadable = new(() =>
        NativeLibrary.TryLoad("libmkl_rt.so", typeof(Mkl).Assembly, null, out _)
        || NativeLibrary.TryLoad("libmkl_rt.so.1", typeof(Mkl).Assembly, null, out _));

    private MklLinearAlgebraProvider()
    {
    }

    /// <summary>The process-wide instance (MKL is process-global state).</summary>
    public static MklLinearAlgebraProvider Instance { get; } = new();

    /// <summary>True once MKL has been loaded and configured in this process (by anyone).</summary>
    public static bool IsLoaded => Mkl.IsLoaded;

    /// <summary>Whether <c>libmkl_rt.so</c> can be loaded here; does not configure MKL.</summary>
    public bool IsAvailable() => IsLoaded || Loadable.Value;

    /// <summary>
    /// Loads MKL with the default single (sequential) thread unless it is already loaded, in
    /// which case the existing configuration, whatever its thread count, is kept.
    /// Throws <see cref="MathBackendException"/> when MKL cannot be loaded.
    /// </summary>
    public void InitializeVerify()
    {
        if (IsLoaded) return;
        try
        {
            Mkl.EnsureLoaded();
        }
        catch (MathBackendException) when (IsLoaded)
        {
            // Another thread loaded MKL with a different thread count in between: that is fine.
        }
    }

    /// <summary>Nothing to free: MKL stays loaded for the life of the process.</summary>
    public void FreeResources()
    {
    }

    public override string ToString() => "Intel MKL (cblas) via RnnCluster";

    // ---- double: MKL

    public void QRFactor(double[] a, int rowsA, int columnsA, double[] q, double[] tau) =>
        MklRealProvider<double, MklDouble>.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(double[] a, int rowsA, int columnsA, double[] r, double[] tau) =>
        MklRealProvider<double, MklDouble>.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(double[] a, int rows, int columns, double[] b, int columnsB, double[] x, QRMethod method) =>
        MklRealProvider<double, MklDouble>.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(double[] q, double[] r, int rowsA, int columnsA, double[] tau, double[] b, int columnsB, double[] x, QRMethod method) =>
        MklRealProvider<double, MklDouble>.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    public void AddVectorToScaledVector(double[] y, double alpha, double[] x, double[] result)
    {
        CheckAxpy(y, x, result);
        if (ReferenceEquals(x, result) || ReferenceEquals(x, y))
        {
            // Copy-then-axpy would overwrite x, or pass the same buffer as both BLAS operands.
            Managed.AddVectorToScaledVector(y, alpha, x, result);
            return;
        }
        if (!ReferenceEquals(result, y)) Array.Copy(y, result, y.Length);
        if (alpha == 0.0 || y.Length == 0) return;
        EnsureReady();
        fixed (double* px = x)
        fixed (double* pr = result)
            MklNative.Daxpy(y.Length, alpha, px, 1, pr, 1);
    }

    public void ScaleArray(double alpha, double[] x, double[] result)
    {
        CheckScale(x, result);
        if (alpha == 0.0)
        {
            Array.Clear(result);
            return;
        }
        if (!ReferenceEquals(x, result)) Array.Copy(x, result, x.Length);
        if (alpha == 1.0 || x.Length == 0) return;
        EnsureReady();
        fixed (double* pr = result)
            MklNative.Dscal(result.Length, alpha, pr, 1);
    }

    public double DotProduct(double[] x, double[] y)
    {
        CheckDot(x, y);
        if (x.Length == 0) return 0.0;
        EnsureReady();
        fixed (double* px = x)
        fixed (double* py = y)
            return MklNative.Ddot(x.Length, px, 1, py, 1);
    }

    public void MatrixMultiply(double[] x, int rowsX, int columnsX, double[] y, int rowsY, int columnsY, double[] result) =>
        MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1.0, x, rowsX, columnsX, y, rowsY, columnsY, 0.0, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, double alpha, double[] a, int rowsA, int columnsA, double[] b, int rowsB, int columnsB, double beta, double[] c)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        var g = GemmShape.Resolve(transposeA, transposeB, rowsA, columnsA, a.Length, rowsB, columnsB, b.Length, c.Length);
        if (g.M == 0 || g.N == 0) return;
        if (g.K == 0)
        {
            // op(A) * op(B) is an all-zero m x n matrix: c = beta * c.
            if (beta == 0.0) Array.Clear(c);
            else if (beta != 1.0) for (int i = 0; i < c.Length; i++) c[i] *= beta;
            return;
        }

        // BLAS forbids C overlapping A or B: compute into a copy of C, then copy back.
        var target = ReferenceEquals(c, a) || ReferenceEquals(c, b) ? (double[])c.Clone() : c;
        EnsureReady();
        fixed (double* pa = a)
        fixed (double* pb = b)
        fixed (double* pc = target)
            MklNative.Dgemm(MklNative.ColMajor, g.TransA, g.TransB, g.M, g.N, g.K,
                alpha, pa, g.Lda, pb, g.Ldb, beta, pc, g.Ldc);
        if (!ReferenceEquals(target, c)) Array.Copy(target, c, c.Length);
    }

    // ---- float: MKL

    public void QRFactor(float[] a, int rowsA, int columnsA, float[] q, float[] tau) =>
        MklRealProvider<float, MklSingle>.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(float[] a, int rowsA, int columnsA, float[] r, float[] tau) =>
        MklRealProvider<float, MklSingle>.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(float[] a, int rows, int columns, float[] b, int columnsB, float[] x, QRMethod method) =>
        MklRealProvider<float, MklSingle>.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(float[] q, float[] r, int rowsA, int columnsA, float[] tau, float[] b, int columnsB, float[] x, QRMethod method) =>
        MklRealProvider<float, MklSingle>.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    public void AddVectorToScaledVector(float[] y, float alpha, float[] x, float[] result)
    {
        CheckAxpy(y, x, result);
        if (ReferenceEquals(x, result) || ReferenceEquals(x, y))
        {
            Managed.AddVectorToScaledVector(y, alpha, x, result);
            return;
        }
        if (!ReferenceEquals(result, y)) Array.Copy(y, result, y.Length);
        if (alpha == 0f || y.Length == 0) return;
        EnsureReady();
        fixed (float* px = x)
        fixed (float* pr = result)
            MklNative.Saxpy(y.Length, alpha, px, 1, pr, 1);
    }

    public void ScaleArray(float alpha, float[] x, float[] result)
    {
        CheckScale(x, result);
        if (alpha == 0f)
        {
            Array.Clear(result);
            return;
        }
        if (!ReferenceEquals(x, result)) Array.Copy(x, result, x.Length);
        if (alpha == 1f || x.Length == 0) return;
        EnsureReady();
        fixed (float* pr = result)
            MklNative.Sscal(result.Length, alpha, pr, 1);
    }

    public float DotProduct(float[] x, float[] y)
    {
        CheckDot(x, y);
        if (x.Length == 0) return 0f;
        EnsureReady();
        fixed (float* px = x)
        fixed (float* py = y)
            return MklNative.Sdot(x.Length, px, 1, py, 1);
    }

    public void MatrixMultiply(float[] x, int rowsX, int columnsX, float[] y, int rowsY, int columnsY, float[] result) =>
        MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1f, x, rowsX, columnsX, y, rowsY, columnsY, 0f, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, float alpha, float[] a, int rowsA, int columnsA, float[] b, int rowsB, int columnsB, float beta, float[] c)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        var g = GemmShape.Resolve(transposeA, transposeB, rowsA, columnsA, a.Length, rowsB, columnsB, b.Length, c.Length);
        if (g.M == 0 || g.N == 0) return;
        if (g.K == 0)
        {
            if (beta == 0f) Array.Clear(c);
            else if (beta != 1f) for (int i = 0; i < c.Length; i++) c[i] *= beta;
            return;
        }

        var target = ReferenceEquals(c, a) || ReferenceEquals(c, b) ? (float[])c.Clone() : c;
        EnsureReady();
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = target)
            MklNative.Sgemm(MklNative.ColMajor, g.TransA, g.TransB, g.M, g.N, g.K,
                alpha, pa, g.Lda, pb, g.Ldb, beta, pc, g.Ldc);
        if (!ReferenceEquals(target, c)) Array.Copy(target, c, c.Length);
    }

    // ---- shared checks

    internal void EnsureReady()
    {
        if (!IsLoaded) InitializeVerify();
    }

    private static void CheckAxpy(Array y, Array x, Array result)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (y.Length != x.Length)
            throw new ArgumentException($"vectors must have the same length: y has {y.Length}, x has {x.Length}", nameof(x));
        if (result.Length != y.Length)
            throw new ArgumentException($"result has length {result.Length}, expected {y.Length}", nameof(result));
    }

    private static void CheckScale(Array x, Array result)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Length != x.Length)
            throw new ArgumentException($"result has length {result.Length}, expected {x.Length}", nameof(result));
    }

    private static void CheckDot(Array x, Array y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (y.Length != x.Length)
            throw new ArgumentException($"vectors must have the same length: x has {x.Length}, y has {y.Length}", nameof(y));
    }

    /// <summary>
    /// Column-major gemm arguments for MathNet's <c>c = alpha*op(a)*op(b) + beta*c</c>, where
    /// <c>rowsA x columnsA</c> and <c>rowsB x columnsB</c> describe the stored matrices before
    /// <c>op</c> is applied (so the leading dimensions are the stored row counts).
    /// </summary>
    private readonly record struct GemmShape(int TransA, int TransB, int M, int N, int K, int Lda, int Ldb, int Ldc)
    {
        public static GemmShape Resolve(Transpose transposeA, Transpose transposeB,
            int rowsA, int columnsA, int lengthA, int rowsB, int columnsB, int lengthB, int lengthC)
        {
            if (rowsA < 0 || columnsA < 0 || rowsB < 0 || columnsB < 0)
                throw new ArgumentException($"negative matrix dimension: a is {rowsA}x{columnsA}, b is {rowsB}x{columnsB}");
            if ((long)rowsA * columnsA != lengthA)
                throw new ArgumentException($"rowsA ({rowsA}) * columnsA ({columnsA}) != a.Length ({lengthA})", "a");
            if ((long)rowsB * columnsB != lengthB)
                throw new ArgumentException($"rowsB ({rowsB}) * columnsB ({columnsB}) != b.Length ({lengthB})", "b");

            // For real matrices a conjugate transpose is a plain transpose; MathNet's managed
            // provider likewise treats anything but DontTranspose as a transpose.
            bool ta = transposeA != Transpose.DontTranspose;
            bool tb = transposeB != Transpose.DontTranspose;
            int m = ta ? columnsA : rowsA;
            int k = ta ? rowsA : columnsA;
            int kb = tb ? columnsB : rowsB;
            int n = tb ? rowsB : columnsB;
            if (k != kb)
                throw new ArgumentException(
                    $"inner dimensions differ: op(a) is {m}x{k} (a {rowsA}x{columnsA}{(ta ? " transposed" : "")}), " +
                    $"op(b) is {kb}x{n} (b {rowsB}x{columnsB}{(tb ? " transposed" : "")})");
            if ((long)m * n != lengthC)
                throw new ArgumentException($"c.Length ({lengthC}) != {m} * {n} for the {m}x{n} product", "c");

            return new GemmShape(
                ta ? MklNative.Trans : MklNative.NoTrans,
                tb ? MklNative.Trans : MklNative.NoTrans,
                m, n, k,
                Lda: Math.Max(1, rowsA),
                Ldb: Math.Max(1, rowsB),
                Ldc: Math.Max(1, m));
        }
    }

    // ---- double: managed

    public void ConjugateArray(double[] x, double[] result) =>
        Managed.ConjugateArray(x, result);

    public void AddArrays(double[] x, double[] y, double[] result) =>
        Managed.AddArrays(x, y, result);

    public void SubtractArrays(double[] x, double[] y, double[] result) =>
        Managed.SubtractArrays(x, y, result);

    public void PointWiseMultiplyArrays(double[] x, double[] y, double[] result) =>
        Managed.PointWiseMultiplyArrays(x, y, result);

    public void PointWiseDivideArrays(double[] x, double[] y, double[] result) =>
        Managed.PointWiseDivideArrays(x, y, result);

    public void PointWisePowerArrays(double[] x, double[] y, double[] result) =>
        Managed.PointWisePowerArrays(x, y, result);

    public double MatrixNorm(Norm norm, int rows, int columns, double[] matrix) =>
        Managed.MatrixNorm(norm, rows, columns, matrix);

    public void LUFactor(double[] data, int order, int[] ipiv) =>
        Managed.LUFactor(data, order, ipiv);

    public void LUInverse(double[] a, int order) =>
        Managed.LUInverse(a, order);

    public void LUInverseFactored(double[] a, int order, int[] ipiv) =>
        Managed.LUInverseFactored(a, order, ipiv);

    public void LUSolve(int columnsOfB, double[] a, int order, double[] b) =>
        Managed.LUSolve(columnsOfB, a, order, b);

    public void LUSolveFactored(int columnsOfB, double[] a, int order, int[] ipiv, double[] b) =>
        Managed.LUSolveFactored(columnsOfB, a, order, ipiv, b);

    public void CholeskyFactor(double[] a, int order) =>
        Managed.CholeskyFactor(a, order);

    public void CholeskySolve(double[] a, int orderA, double[] b, int columnsB) =>
        Managed.CholeskySolve(a, orderA, b, columnsB);

    public void CholeskySolveFactored(double[] a, int orderA, double[] b, int columnsB) =>
        Managed.CholeskySolveFactored(a, orderA, b, columnsB);


    public void SingularValueDecomposition(bool computeVectors, double[] a, int rowsA, int columnsA, double[] s, double[] u, double[] vt) =>
        Managed.SingularValueDecomposition(computeVectors, a, rowsA, columnsA, s, u, vt);

    public void SvdSolve(double[] a, int rowsA, int columnsA, double[] b, int columnsB, double[] x) =>
        Managed.SvdSolve(a, rowsA, columnsA, b, columnsB, x);

    public void SvdSolveFactored(int rowsA, int columnsA, double[] s, double[] u, double[] vt, double[] b, int columnsB, double[] x) =>
        Managed.SvdSolveFactored(rowsA, columnsA, s, u, vt, b, columnsB, x);

    public void EigenDecomp(bool isSymmetric, int order, double[] matrix, double[] matrixEv, Complex[] vectorEv, double[] matrixD) =>
        Managed.EigenDecomp(isSymmetric, order, matrix, matrixEv, vectorEv, matrixD);

    // ---- float: managed

    public void ConjugateArray(float[] x, float[] result) =>
        Managed.ConjugateArray(x, result);

    public void AddArrays(float[] x, float[] y, float[] result) =>
        Managed.AddArrays(x, y, result);

    public void SubtractArrays(float[] x, float[] y, float[] result) =>
        Managed.SubtractArrays(x, y, result);

    public void PointWiseMultiplyArrays(float[] x, float[] y, float[] result) =>
        Managed.PointWiseMultiplyArrays(x, y, result);

    public void PointWiseDivideArrays(float[] x, float[] y, float[] result) =>
        Managed.PointWiseDivideArrays(x, y, result);

    public void PointWisePowerArrays(float[] x, float[] y, float[] result) =>
        Managed.PointWisePowerArrays(x, y, result);

    public double MatrixNorm(Norm norm, int rows, int columns, float[] matrix) =>
        Managed.MatrixNorm(norm, rows, columns, matrix);

    public void LUFactor(float[] data, int order, int[] ipiv) =>
        Managed.LUFactor(data, order, ipiv);

    public void LUInverse(float[] a, int order) =>
        Managed.LUInverse(a, order);

    public void LUInverseFactored(float[] a, int order, int[] ipiv) =>
        Managed.LUInverseFactored(a, order, ipiv);

    public void LUSolve(int columnsOfB, float[] a, int order, float[] b) =>
        Managed.LUSolve(columnsOfB, a, order, b);

    public void LUSolveFactored(int columnsOfB, float[] a, int order, int[] ipiv, float[] b) =>
        Managed.LUSolveFactored(columnsOfB, a, order, ipiv, b);

    public void CholeskyFactor(float[] a, int order) =>
        Managed.CholeskyFactor(a, order);

    public void CholeskySolve(float[] a, int orderA, float[] b, int columnsB) =>
        Managed.CholeskySolve(a, orderA, b, columnsB);

    public void CholeskySolveFactored(float[] a, int orderA, float[] b, int columnsB) =>
        Managed.CholeskySolveFactored(a, orderA, b, columnsB);


    public void SingularValueDecomposition(bool computeVectors, float[] a, int rowsA, int columnsA, float[] s, float[] u, float[] vt) =>
        Managed.SingularValueDecomposition(computeVectors, a, rowsA, columnsA, s, u, vt);

    public void SvdSolve(float[] a, int rowsA, int columnsA, float[] b, int columnsB, float[] x) =>
        Managed.SvdSolve(a, rowsA, columnsA, b, columnsB, x);

    public void SvdSolveFactored(int rowsA, int columnsA, float[] s, float[] u, float[] vt, float[] b, int columnsB, float[] x) =>
        Managed.SvdSolveFactored(rowsA, columnsA, s, u, vt, b, columnsB, x);

    public void EigenDecomp(bool isSymmetric, int order, float[] matrix, float[] matrixEv, Complex[] vectorEv, float[] matrixD) =>
        Managed.EigenDecomp(isSymmetric, order, matrix, matrixEv, vectorEv, matrixD);

    // ---- System.Numerics.Complex: managed

    public void AddVectorToScaledVector(Complex[] y, Complex alpha, Complex[] x, Complex[] result) =>
        Managed.AddVectorToScaledVector(y, alpha, x, result);

    public void ScaleArray(Complex alpha, Complex[] x, Complex[] result) =>
        Managed.ScaleArray(alpha, x, result);

    public void ConjugateArray(Complex[] x, Complex[] result) =>
        Managed.ConjugateArray(x, result);

    public Complex DotProduct(Complex[] x, Complex[] y) =>
        Managed.DotProduct(x, y);

    public void AddArrays(Complex[] x, Complex[] y, Complex[] result) =>
        Managed.AddArrays(x, y, result);

    public void SubtractArrays(Complex[] x, Complex[] y, Complex[] result) =>
        Managed.SubtractArrays(x, y, result);

    public void PointWiseMultiplyArrays(Complex[] x, Complex[] y, Complex[] result) =>
        Managed.PointWiseMultiplyArrays(x, y, result);

    public void PointWiseDivideArrays(Complex[] x, Complex[] y, Complex[] result) =>
        Managed.PointWiseDivideArrays(x, y, result);

    public void PointWisePowerArrays(Complex[] x, Complex[] y, Complex[] result) =>
        Managed.PointWisePowerArrays(x, y, result);

    public double MatrixNorm(Norm norm, int rows, int columns, Complex[] matrix) =>
        Managed.MatrixNorm(norm, rows, columns, matrix);

    public void MatrixMultiply(Complex[] x, int rowsX, int columnsX, Complex[] y, int rowsY, int columnsY, Complex[] result) =>
        Managed.MatrixMultiply(x, rowsX, columnsX, y, rowsY, columnsY, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, Complex alpha, Complex[] a, int rowsA, int columnsA, Complex[] b, int rowsB, int columnsB, Complex beta, Complex[] c) =>
        Managed.MatrixMultiplyWithUpdate(transposeA, transposeB, alpha, a, rowsA, columnsA, b, rowsB, columnsB, beta, c);

    public void LUFactor(Complex[] data, int order, int[] ipiv) =>
        Managed.LUFactor(data, order, ipiv);

    public void LUInverse(Complex[] a, int order) =>
        Managed.LUInverse(a, order);

    public void LUInverseFactored(Complex[] a, int order, int[] ipiv) =>
        Managed.LUInverseFactored(a, order, ipiv);

    public void LUSolve(int columnsOfB, Complex[] a, int order, Complex[] b) =>
        Managed.LUSolve(columnsOfB, a, order, b);

    public void LUSolveFactored(int columnsOfB, Complex[] a, int order, int[] ipiv, Complex[] b) =>
        Managed.LUSolveFactored(columnsOfB, a, order, ipiv, b);

    public void CholeskyFactor(Complex[] a, int order) =>
        Managed.CholeskyFactor(a, order);

    public void CholeskySolve(Complex[] a, int orderA, Complex[] b, int columnsB) =>
        Managed.CholeskySolve(a, orderA, b, columnsB);

    public void CholeskySolveFactored(Complex[] a, int orderA, Complex[] b, int columnsB) =>
        Managed.CholeskySolveFactored(a, orderA, b, columnsB);

    public void QRFactor(Complex[] a, int rowsA, int columnsA, Complex[] q, Complex[] tau) =>
        Managed.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(Complex[] a, int rowsA, int columnsA, Complex[] r, Complex[] tau) =>
        Managed.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(Complex[] a, int rows, int columns, Complex[] b, int columnsB, Complex[] x, QRMethod method) =>
        Managed.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(Complex[] q, Complex[] r, int rowsA, int columnsA, Complex[] tau, Complex[] b, int columnsB, Complex[] x, QRMethod method) =>
        Managed.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    public void SingularValueDecomposition(bool computeVectors, Complex[] a, int rowsA, int columnsA, Complex[] s, Complex[] u, Complex[] vt) =>
        Managed.SingularValueDecomposition(computeVectors, a, rowsA, columnsA, s, u, vt);

    public void SvdSolve(Complex[] a, int rowsA, int columnsA, Complex[] b, int columnsB, Complex[] x) =>
        Managed.SvdSolve(a, rowsA, columnsA, b, columnsB, x);

    public void SvdSolveFactored(int rowsA, int columnsA, Complex[] s, Complex[] u, Complex[] vt, Complex[] b, int columnsB, Complex[] x) =>
        Managed.SvdSolveFactored(rowsA, columnsA, s, u, vt, b, columnsB, x);

    public void EigenDecomp(bool isSymmetric, int order, Complex[] matrix, Complex[] matrixEv, Complex[] vectorEv, Complex[] matrixD) =>
        Managed.EigenDecomp(isSymmetric, order, matrix, matrixEv, vectorEv, matrixD);

    // ---- MathNet.Numerics.Complex32: managed

    public void AddVectorToScaledVector(Complex32[] y, Complex32 alpha, Complex32[] x, Complex32[] result) =>
        Managed.AddVectorToScaledVector(y, alpha, x, result);

    public void ScaleArray(Complex32 alpha, Complex32[] x, Complex32[] result) =>
        Managed.ScaleArray(alpha, x, result);

    public void ConjugateArray(Complex32[] x, Complex32[] result) =>
        Managed.ConjugateArray(x, result);

    public Complex32 DotProduct(Complex32[] x, Complex32[] y) =>
        Managed.DotProduct(x, y);

    public void AddArrays(Complex32[] x, Complex32[] y, Complex32[] result) =>
        Managed.AddArrays(x, y, result);

    public void SubtractArrays(Complex32[] x, Complex32[] y, Complex32[] result) =>
        Managed.SubtractArrays(x, y, result);

    public void PointWiseMultiplyArrays(Complex32[] x, Complex32[] y, Complex32[] result) =>
        Managed.PointWiseMultiplyArrays(x, y, result);

    public void PointWiseDivideArrays(Complex32[] x, Complex32[] y, Complex32[] result) =>
        Managed.PointWiseDivideArrays(x, y, result);

    public void PointWisePowerArrays(Complex32[] x, Complex32[] y, Complex32[] result) =>
        Managed.PointWisePowerArrays(x, y, result);

    public double MatrixNorm(Norm norm, int rows, int columns, Complex32[] matrix) =>
        Managed.MatrixNorm(norm, rows, columns, matrix);

    public void MatrixMultiply(Complex32[] x, int rowsX, int columnsX, Complex32[] y, int rowsY, int columnsY, Complex32[] result) =>
        Managed.MatrixMultiply(x, rowsX, columnsX, y, rowsY, columnsY, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, Complex32 alpha, Complex32[] a, int rowsA, int columnsA, Complex32[] b, int rowsB, int columnsB, Complex32 beta, Complex32[] c) =>
        Managed.MatrixMultiplyWithUpdate(transposeA, transposeB, alpha, a, rowsA, columnsA, b, rowsB, columnsB, beta, c);

    public void LUFactor(Complex32[] data, int order, int[] ipiv) =>
        Managed.LUFactor(data, order, ipiv);

    public void LUInverse(Complex32[] a, int order) =>
        Managed.LUInverse(a, order);

    public void LUInverseFactored(Complex32[] a, int order, int[] ipiv) =>
        Managed.LUInverseFactored(a, order, ipiv);

    public void LUSolve(int columnsOfB, Complex32[] a, int order, Complex32[] b) =>
        Managed.LUSolve(columnsOfB, a, order, b);

    public void LUSolveFactored(int columnsOfB, Complex32[] a, int order, int[] ipiv, Complex32[] b) =>
        Managed.LUSolveFactored(columnsOfB, a, order, ipiv, b);

    public void CholeskyFactor(Complex32[] a, int order) =>
        Managed.CholeskyFactor(a, order);

    public void CholeskySolve(Complex32[] a, int orderA, Complex32[] b, int columnsB) =>
        Managed.CholeskySolve(a, orderA, b, columnsB);

    public void CholeskySolveFactored(Complex32[] a, int orderA, Complex32[] b, int columnsB) =>
        Managed.CholeskySolveFactored(a, orderA, b, columnsB);

    public void QRFactor(Complex32[] a, int rowsA, int columnsA, Complex32[] q, Complex32[] tau) =>
        Managed.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(Complex32[] a, int rowsA, int columnsA, Complex32[] r, Complex32[] tau) =>
        Managed.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(Complex32[] a, int rows, int columns, Complex32[] b, int columnsB, Complex32[] x, QRMethod method) =>
        Managed.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(Complex32[] q, Complex32[] r, int rowsA, int columnsA, Complex32[] tau, Complex32[] b, int columnsB, Complex32[] x, QRMethod method) =>
        Managed.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    public void SingularValueDecomposition(bool computeVectors, Complex32[] a, int rowsA, int columnsA, Complex32[] s, Complex32[] u, Complex32[] vt) =>
        Managed.SingularValueDecomposition(computeVectors, a, rowsA, columnsA, s, u, vt);

    public void SvdSolve(Complex32[] a, int rowsA, int columnsA, Complex32[] b, int columnsB, Complex32[] x) =>
        Managed.SvdSolve(a, rowsA, columnsA, b, columnsB, x);

    public void SvdSolveFactored(int rowsA, int columnsA, Complex32[] s, Complex32[] u, Complex32[] vt, Complex32[] b, int columnsB, Complex32[] x) =>
        Managed.SvdSolveFactored(rowsA, columnsA, s, u, vt, b, columnsB, x);

    public void EigenDecomp(bool isSymmetric, int order, Complex32[] matrix, Complex32[] matrixEv, Complex[] vectorEv, Complex32[] matrixD) =>
        Managed.EigenDecomp(isSymmetric, order, matrix, matrixEv, vectorEv, matrixD);
}
