using System.Numerics;
using System.Runtime.InteropServices;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra.Factorization;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace RnnCluster.Numerics;

/// <summary>
/// MathNet.Numerics linear-algebra provider backed by Intel MKL for float and double: matrix
/// products (<c>?gemm</c>, every transpose combination), <c>?axpy</c>, <c>?scal</c>, <c>?dot</c>,
/// and QR (<c>?geqrf</c> + <c>?orgqr</c>; least squares through Q^T B and <c>?trsm</c>), each written
/// once for both types in <see cref="MklRealProvider{T, TMkl}"/>. The rest goes to
/// <see cref="ManagedLinearAlgebraProvider.Instance"/>; MklLinearAlgebraProvider.Forwarded.cs lists it and says why.
/// </summary>
/// <remarks>
/// MathNet dense matrices are column-major arrays, so every call uses <c>CblasColMajor</c> with
/// leading dimensions equal to the stored row counts. MKL itself is loaded and configured by
/// <see cref="Mkl.EnsureLoaded"/>; this provider never reconfigures an MKL that is already loaded
/// (whatever its thread count), so <see cref="MathBackend.Start"/> may load MKL with several threads
/// first and then install this provider.
/// </remarks>
public sealed partial class MklLinearAlgebraProvider :
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

    public override string ToString() => "Intel MKL (cblas, LAPACK QR) via RnnCluster";

    // ---- double: MKL

    public void AddVectorToScaledVector(double[] y, double alpha, double[] x, double[] result) =>
        MklRealProvider<double, MklDouble>.AddVectorToScaledVector(y, alpha, x, result);

    public void ScaleArray(double alpha, double[] x, double[] result) =>
        MklRealProvider<double, MklDouble>.ScaleArray(alpha, x, result);

    public double DotProduct(double[] x, double[] y) =>
        MklRealProvider<double, MklDouble>.DotProduct(x, y);

    public void MatrixMultiply(double[] x, int rowsX, int columnsX, double[] y, int rowsY, int columnsY, double[] result) =>
        MklRealProvider<double, MklDouble>.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1, x, rowsX, columnsX, y, rowsY, columnsY, 0, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, double alpha, double[] a, int rowsA, int columnsA, double[] b, int rowsB, int columnsB, double beta, double[] c) =>
        MklRealProvider<double, MklDouble>.MatrixMultiplyWithUpdate(transposeA, transposeB, alpha, a, rowsA, columnsA, b, rowsB, columnsB, beta, c);

    public void QRFactor(double[] a, int rowsA, int columnsA, double[] q, double[] tau) =>
        MklRealProvider<double, MklDouble>.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(double[] a, int rowsA, int columnsA, double[] r, double[] tau) =>
        MklRealProvider<double, MklDouble>.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(double[] a, int rows, int columns, double[] b, int columnsB, double[] x, QRMethod method) =>
        MklRealProvider<double, MklDouble>.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(double[] q, double[] r, int rowsA, int columnsA, double[] tau, double[] b, int columnsB, double[] x, QRMethod method) =>
        MklRealProvider<double, MklDouble>.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    // ---- float: MKL

    public void AddVectorToScaledVector(float[] y, float alpha, float[] x, float[] result) =>
        MklRealProvider<float, MklSingle>.AddVectorToScaledVector(y, alpha, x, result);

    public void ScaleArray(float alpha, float[] x, float[] result) =>
        MklRealProvider<float, MklSingle>.ScaleArray(alpha, x, result);

    public float DotProduct(float[] x, float[] y) =>
        MklRealProvider<float, MklSingle>.DotProduct(x, y);

    public void MatrixMultiply(float[] x, int rowsX, int columnsX, float[] y, int rowsY, int columnsY, float[] result) =>
        MklRealProvider<float, MklSingle>.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1, x, rowsX, columnsX, y, rowsY, columnsY, 0, result);

    public void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, float alpha, float[] a, int rowsA, int columnsA, float[] b, int rowsB, int columnsB, float beta, float[] c) =>
        MklRealProvider<float, MklSingle>.MatrixMultiplyWithUpdate(transposeA, transposeB, alpha, a, rowsA, columnsA, b, rowsB, columnsB, beta, c);

    public void QRFactor(float[] a, int rowsA, int columnsA, float[] q, float[] tau) =>
        MklRealProvider<float, MklSingle>.QRFactor(a, rowsA, columnsA, q, tau);

    public void ThinQRFactor(float[] a, int rowsA, int columnsA, float[] r, float[] tau) =>
        MklRealProvider<float, MklSingle>.ThinQRFactor(a, rowsA, columnsA, r, tau);

    public void QRSolve(float[] a, int rows, int columns, float[] b, int columnsB, float[] x, QRMethod method) =>
        MklRealProvider<float, MklSingle>.QRSolve(a, rows, columns, b, columnsB, x, method);

    public void QRSolveFactored(float[] q, float[] r, int rowsA, int columnsA, float[] tau, float[] b, int columnsB, float[] x, QRMethod method) =>
        MklRealProvider<float, MklSingle>.QRSolveFactored(q, r, rowsA, columnsA, tau, b, columnsB, x, method);

    internal void EnsureReady()
    {
        if (!IsLoaded) InitializeVerify();
    }
}
