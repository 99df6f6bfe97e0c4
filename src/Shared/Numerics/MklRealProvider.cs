using System.Numerics;
using MathNet.Numerics.LinearAlgebra.Factorization;
using MathNet.Numerics.Providers.LinearAlgebra;

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
    /// <summary>result = y + alpha x (?axpy; BLAS forbids x aliasing the output, that case is a plain loop).</summary>
    public static void AddVectorToScaledVector(T[] y, T alpha, T[] x, T[] result)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (y.Length != x.Length)
            throw new ArgumentException($"vectors must have the same length: y has {y.Length}, x has {x.Length}", nameof(x));
        if (result.Length != y.Length)
            throw new ArgumentException($"result has length {result.Length}, expected {y.Length}", nameof(result));
        if (ReferenceEquals(x, result) || ReferenceEquals(x, y))
        {
            for (int i = 0; i < result.Length; i++) result[i] = y[i] + alpha * x[i];
            return;
        }
        if (!ReferenceEquals(result, y)) Array.Copy(y, result, y.Length);
        if (alpha == T.Zero || y.Length == 0) return;
        Ready();
        fixed (T* px = x)
        fixed (T* pr = result)
            TMkl.Axpy(y.Length, alpha, px, pr);
    }

    /// <summary>result = alpha x (?scal).</summary>
    public static void ScaleArray(T alpha, T[] x, T[] result)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Length != x.Length)
            throw new ArgumentException($"result has length {result.Length}, expected {x.Length}", nameof(result));
        if (alpha == T.Zero)
        {
            Array.Clear(result);
            return;
        }
        if (!ReferenceEquals(x, result)) Array.Copy(x, result, x.Length);
        if (alpha == T.One || x.Length == 0) return;
        Ready();
        fixed (T* pr = result)
            TMkl.Scal(result.Length, alpha, pr);
    }

    /// <summary>x . y (?dot).</summary>
    public static T DotProduct(T[] x, T[] y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (y.Length != x.Length)
            throw new ArgumentException($"vectors must have the same length: x has {x.Length}, y has {y.Length}", nameof(y));
        if (x.Length == 0) return T.Zero;
        Ready();
        fixed (T* px = x)
        fixed (T* py = y)
            return TMkl.Dot(x.Length, px, py);
    }

    /// <summary>
    /// c = alpha op(a) op(b) + beta c (?gemm, every transpose combination), a and b given by their
    /// stored shapes before op, so the leading dimensions are the stored row counts.
    /// </summary>
    public static void MatrixMultiplyWithUpdate(Transpose transposeA, Transpose transposeB, T alpha, T[] a, int rowsA, int columnsA,
        T[] b, int rowsB, int columnsB, T beta, T[] c)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        var g = GemmShape.Resolve(transposeA, transposeB, rowsA, columnsA, a.Length, rowsB, columnsB, b.Length, c.Length);
        if (g.M == 0 || g.N == 0) return;
        if (g.K == 0)
        {
            // op(a) op(b) is an all-zero m x n matrix: c = beta c.
            if (beta == T.Zero) Array.Clear(c);
            else if (beta != T.One) for (int i = 0; i < c.Length; i++) c[i] *= beta;
            return;
        }

        // BLAS forbids C overlapping A or B: compute into a copy of C, then copy back.
        var target = ReferenceEquals(c, a) || ReferenceEquals(c, b) ? (T[])c.Clone() : c;
        Ready();
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = target)
            TMkl.Gemm(g.TransA, g.TransB, g.M, g.N, g.K, alpha, pa, g.Lda, pb, g.Ldb, beta, pc, g.Ldc);
        if (!ReferenceEquals(target, c)) Array.Copy(target, c, c.Length);
    }

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
}
