using System.Numerics;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace RnnCluster.Numerics;

/// <summary>
/// The real-valued operations of <see cref="MklLinearAlgebraProvider"/>, written once for float and
/// double: <typeparamref name="TMkl"/> supplies the s- or d-routine. MathNet's arrays are
/// column-major; the results keep the managed provider's conventions (checked against it by
/// MklProviderTests), so MathNet's factorization classes work unchanged on top.
/// </summary>
internal static unsafe class MklRealProvider<T, TMkl>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TMkl : struct, IMklReal<T>
{
    /// <summary>
    /// Full QR (LAPACK ?geqrf, then ?orgqr): <paramref name="r"/> holds A (m x n) on entry and R on
    /// exit, zero below the diagonal as the managed provider leaves it; <paramref name="q"/> (m x m)
    /// gets Q; <paramref name="tau"/> LAPACK's reflector scalars.
    /// </summary>
    public static void QRFactor(T[] r, int rows, int columns, T[] q, T[] tau)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(tau);
        CheckLength(r, rows, columns, nameof(r));
        CheckLength(q, rows, rows, nameof(q));
        int k = Math.Min(rows, columns);
        CheckTau(tau, k);
        if (rows == 0) return;
        Ready();
        fixed (T* pr = r)
        fixed (T* pq = q)
        fixed (T* pt = tau)
        {
            if (k > 0) Check(TMkl.Geqrf(rows, columns, pr, rows, pt), "geqrf");
            // The reflectors below R's diagonal move into q, where ?orgqr turns them into Q.
            for (int j = 0; j < k; j++)
            {
                int column = j * rows;
                for (int i = j + 1; i < rows; i++)
                {
                    pq[column + i] = pr[column + i];
                    pr[column + i] = T.Zero;
                }
            }
            Check(TMkl.Orgqr(rows, rows, k, pq, rows, pt), "orgqr");
        }
    }

    /// <summary>
    /// Thin QR (m >= n): <paramref name="a"/> holds A on entry and the m x n Q on exit;
    /// <paramref name="r"/> (n x n) gets R, zero below the diagonal.
    /// </summary>
    public static void ThinQRFactor(T[] a, int rows, int columns, T[] r, T[] tau)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(tau);
        CheckLength(a, rows, columns, nameof(a));
        CheckLength(r, columns, columns, nameof(r));
        CheckTau(tau, Math.Min(rows, columns));
        if (rows < columns)
            throw new ArgumentException($"a thin QR needs at least as many rows as columns: a is {rows}x{columns}", nameof(a));
        if (columns == 0) return;
        Ready();
        fixed (T* pa = a)
        fixed (T* pr = r)
        fixed (T* pt = tau)
        {
            Check(TMkl.Geqrf(rows, columns, pa, rows, pt), "geqrf");
            for (int j = 0; j < columns; j++)
                for (int i = 0; i < columns; i++)
                    pr[j * columns + i] = i <= j ? pa[j * rows + i] : T.Zero;
            Check(TMkl.Orgqr(rows, columns, columns, pa, rows, pt), "orgqr");
        }
    }

    /// <summary>Least-squares solution of A X = B (m >= n) through a QR of a copy of A.</summary>
    public static void QRSolve(T[] a, int rows, int columns, T[] b, int columnsB, T[] x, QRMethod method)
    {
        ArgumentNullException.ThrowIfNull(a);
        CheckLength(a, rows, columns, nameof(a));
        CheckSolveShapes(rows, columns, b, columnsB, x);
        var factor = (T[])a.Clone();
        var tau = new T[Math.Min(rows, columns)];
        if (method == QRMethod.Full)
        {
            var q = new T[rows * rows];
            QRFactor(factor, rows, columns, q, tau);
            QRSolveFactored(q, factor, rows, columns, tau, b, columnsB, x, method);
        }
        else
        {
            var r = new T[columns * columns];
            ThinQRFactor(factor, rows, columns, r, tau);
            QRSolveFactored(factor, r, rows, columns, tau, b, columnsB, x, method);
        }
    }

    /// <summary>
    /// X = R1^-1 (Q1^T B) from a factorization by <see cref="QRFactor"/> (Q m x m, R m x n) or
    /// <see cref="ThinQRFactor"/> (Q m x n, R n x n), Q1 and R1 their leading m x n and n x n
    /// blocks: one ?gemm, one ?trsm. Uses the explicit Q, as the managed provider does (tau is not needed).
    /// </summary>
    public static void QRSolveFactored(T[] q, T[] r, int rows, int columns, T[]? tau, T[] b, int columnsB, T[] x, QRMethod method)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(r);
        _ = tau;
        bool full = method == QRMethod.Full;
        CheckLength(q, rows, full ? rows : columns, nameof(q));
        CheckLength(r, full ? rows : columns, columns, nameof(r));
        CheckSolveShapes(rows, columns, b, columnsB, x);
        if (columns == 0 || columnsB == 0) return;
        Ready();
        fixed (T* pq = q)
        fixed (T* pr = r)
        fixed (T* pb = b)
        fixed (T* px = x)
        {
            TMkl.Gemm(MklNative.Trans, MklNative.NoTrans, columns, columnsB, rows, T.One, pq, rows, pb, rows, T.Zero, px, columns);
            TMkl.Trsm(MklNative.Upper, MklNative.NoTrans, columns, columnsB, T.One, pr, full ? rows : columns, px, columns);
        }
    }

    private static void CheckSolveShapes(int rows, int columns, T[] b, int columnsB, T[] x)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(x);
        if (rows < columns)
            throw new ArgumentException($"a QR solve needs at least as many rows as columns: A is {rows}x{columns}");
        CheckLength(b, rows, columnsB, nameof(b));
        CheckLength(x, columns, columnsB, nameof(x));
    }

    private static void CheckLength(T[] array, int rows, int columns, string name)
    {
        if (rows < 0 || columns < 0)
            throw new ArgumentException($"negative matrix dimension: {name} is {rows}x{columns}", name);
        if (array.Length != (long)rows * columns)
            throw new ArgumentException($"{name} has length {array.Length}, expected {rows} x {columns} = {(long)rows * columns}", name);
    }

    private static void CheckTau(T[] tau, int length)
    {
        if (tau.Length < length)
            throw new ArgumentException($"tau has length {tau.Length}, expected at least min(rows, columns) = {length}", nameof(tau));
    }

    /// <summary>LAPACKE's info: negative means an invalid argument (a bug here), -1010 no memory.</summary>
    private static void Check(int info, string routine)
    {
        if (info == MklNative.LapackeOutOfMemory) throw new OutOfMemoryException($"MKL {routine}: out of memory");
        if (info != 0) throw new ArgumentException($"MKL {routine} rejected argument {-info} (info {info})");
    }

    private static void Ready() => MklLinearAlgebraProvider.Instance.EnsureReady();
}
