using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using MathNet.Numerics.Providers.LinearAlgebra;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// The provider's QR (LAPACK ?geqrf/?orgqr in MKL) against MathNet's managed provider and against
/// what a QR is: Q R = A, Q orthonormal, R upper triangular with zeros below the diagonal.
/// Q and R are unique up to the signs of R's diagonal (and, for a full Q of a tall matrix, up to the
/// completion beyond the first n columns), so the comparison with the managed provider fixes signs first.
/// </summary>
[Collection("MathProvider")]
public sealed class MklQrTests
{
    private static readonly ManagedLinearAlgebraProvider Managed = ManagedLinearAlgebraProvider.Instance;
    private static readonly MklLinearAlgebraProvider Provider = MklLinearAlgebraProvider.Instance;

    public MklQrTests()
    {
        Provider.InitializeVerify();
        Assert.True(Mkl.IsLoaded, "MKL must be loaded for these tests");
    }

    public static TheoryData<int, int> TallShapes() => new() { { 1, 1 }, { 5, 3 }, { 7, 7 }, { 64, 16 }, { 130, 70 }, { 200, 1 } };

    public static TheoryData<int, int> AnyShapes() => new() { { 1, 1 }, { 5, 3 }, { 3, 5 }, { 6, 6 }, { 40, 25 }, { 1, 4 } };

    [Theory]
    [MemberData(nameof(TallShapes))]
    public void Thin_qr_in_double_is_a_qr_and_matches_managed(int m, int n)
    {
        var a = MklProviderTests.RandomDoubles(new Random(HashCode.Combine(m, n, 1)), m * n);
        var q = (double[])a.Clone();
        var r = new double[n * n];
        Provider.ThinQRFactor(q, m, n, r, new double[n]);
        var qm = (double[])a.Clone();
        var rm = new double[n * n];
        Managed.ThinQRFactor(qm, m, n, rm, new double[n]);
        AssertQr(a, m, n, q, n, r, n, 1e-12, "thin double");
        AssertSameUpToSigns(qm, rm, q, r, m, n, n, n, 1e-10, "thin double");
    }

    [Theory]
    [MemberData(nameof(TallShapes))]
    public void Thin_qr_in_float_is_a_qr_and_matches_managed(int m, int n)
    {
        var a = MklProviderTests.RandomFloats(new Random(HashCode.Combine(m, n, 2)), m * n);
        var q = (float[])a.Clone();
        var r = new float[n * n];
        Provider.ThinQRFactor(q, m, n, r, new float[n]);
        var qm = (float[])a.Clone();
        var rm = new float[n * n];
        Managed.ThinQRFactor(qm, m, n, rm, new float[n]);
        AssertQr(Wide(a), m, n, Wide(q), n, Wide(r), n, 2e-5, "thin float");
        AssertSameUpToSigns(Wide(qm), Wide(rm), Wide(q), Wide(r), m, n, n, n, 2e-4, "thin float");
    }

    [Theory]
    [MemberData(nameof(AnyShapes))]
    public void Full_qr_is_a_qr_and_matches_managed(int m, int n)
    {
        int k = Math.Min(m, n);
        var a = MklProviderTests.RandomDoubles(new Random(HashCode.Combine(m, n, 3)), m * n);
        var r = (double[])a.Clone();
        var q = new double[m * m];
        var tau = new double[k];
        Provider.QRFactor(r, m, n, q, tau);
        var rm = (double[])a.Clone();
        var qm = new double[m * m];
        Managed.QRFactor(rm, m, n, qm, new double[k]);
        AssertQr(a, m, n, q, m, r, m, 1e-12, "full double");
        // Beyond the first k columns a full Q is any orthonormal completion: compare the first k.
        AssertSameUpToSigns(qm, rm, q, r, m, n, k, m, 1e-10, "full double");
        if (m > 1) Assert.Contains(tau, t => t != 0.0); // LAPACK's reflector scalars are handed back (a 1-row A needs none)

        var rf = MklProviderTests.RandomFloats(new Random(HashCode.Combine(m, n, 4)), m * n);
        var af = (float[])rf.Clone();
        var qf = new float[m * m];
        Provider.QRFactor(rf, m, n, qf, new float[k]);
        AssertQr(Wide(af), m, n, Wide(qf), m, Wide(rf), m, 2e-5, "full float");
    }

    [Theory]
    [InlineData(30, 12, 3)]
    [InlineData(12, 12, 1)]
    [InlineData(50, 1, 2)]
    public void Qr_solve_matches_managed_for_both_methods(int m, int n, int columnsB)
    {
        var rng = new Random(HashCode.Combine(m, n, columnsB));
        var a = MklProviderTests.RandomDoubles(rng, m * n);
        var b = MklProviderTests.RandomDoubles(rng, m * columnsB);
        foreach (var method in new[] { QRMethod.Full, QRMethod.Thin })
        {
            var expected = new double[n * columnsB];
            Managed.QRSolve(a, m, n, b, columnsB, expected, method);
            var actual = new double[n * columnsB];
            var aBefore = (double[])a.Clone();
            var bBefore = (double[])b.Clone();
            Provider.QRSolve(a, m, n, b, columnsB, actual, method);
            Assert.Equal(aBefore, a);
            Assert.Equal(bBefore, b);
            AssertClose(expected, actual, 1e-9, $"QRSolve {method}");

            // The normal equations hold at the least-squares solution: A^T (A x - b) = 0.
            var residual = Matrix<double>.Build.Dense(m, n, a) * Matrix<double>.Build.Dense(n, columnsB, actual) - Matrix<double>.Build.Dense(m, columnsB, b);
            var normal = Matrix<double>.Build.Dense(m, n, a).TransposeThisAndMultiply(residual);
            Assert.True(normal.Enumerate().All(v => Math.Abs(v) < 1e-9), $"normal equations {method}: {normal.Enumerate().Max(Math.Abs)}");
        }

        var af = a.Select(v => (float)v).ToArray();
        var bf = b.Select(v => (float)v).ToArray();
        var xf = new float[n * columnsB];
        var xm = new float[n * columnsB];
        Provider.QRSolve(af, m, n, bf, columnsB, xf, QRMethod.Thin);
        Managed.QRSolve(af, m, n, bf, columnsB, xm, QRMethod.Thin);
        AssertClose(xm.Select(v => (double)v).ToArray(), xf.Select(v => (double)v).ToArray(), 1e-3, "QRSolve float");
    }

    [Fact]
    public void Qr_solve_factored_solves_with_factors_from_either_provider()
    {
        var rng = new Random(9);
        int m = 20, n = 8, columnsB = 2;
        var a = MklProviderTests.RandomDoubles(rng, m * n);
        var b = MklProviderTests.RandomDoubles(rng, m * columnsB);
        var expected = new double[n * columnsB];
        Managed.QRSolve(a, m, n, b, columnsB, expected, QRMethod.Thin);

        var q = (double[])a.Clone();
        var r = new double[n * n];
        var tau = new double[n];
        Managed.ThinQRFactor(q, m, n, r, tau);
        var x = new double[n * columnsB];
        Provider.QRSolveFactored(q, r, m, n, tau, b, columnsB, x, QRMethod.Thin);
        AssertClose(expected, x, 1e-9, "managed factors, MKL solve");

        var rFull = (double[])a.Clone();
        var qFull = new double[m * m];
        Provider.QRFactor(rFull, m, n, qFull, tau);
        Managed.QRSolveFactored(qFull, rFull, m, n, tau, b, columnsB, x, QRMethod.Full);
        AssertClose(expected, x, 1e-9, "MKL factors, managed solve");
    }

    [Fact]
    public void Matrix_qr_runs_through_the_installed_mkl_provider()
    {
        var previous = LinearAlgebraControl.Provider;
        try
        {
            LinearAlgebraControl.Provider = Provider;
            var a = Matrix<double>.Build.Dense(48, 12, MklProviderTests.RandomDoubles(new Random(10), 48 * 12));
            var qr = a.QR(QRMethod.Thin);

            // Bit for bit what the MKL provider computes when called directly: MathNet asked it.
            var q = a.ToColumnMajorArray();
            var r = new double[12 * 12];
            Provider.ThinQRFactor(q, 48, 12, r, new double[12]);
            Assert.Equal(q, qr.Q.ToColumnMajorArray());
            Assert.Equal(r, qr.R.ToColumnMajorArray());
            Assert.True((qr.Q * qr.R - a).Enumerate().All(v => Math.Abs(v) < 1e-12));

            var full = a.QR();
            Assert.True((full.Q * full.R - a).Enumerate().All(v => Math.Abs(v) < 1e-12));
            var rhs = Matrix<double>.Build.Dense(48, 1, MklProviderTests.RandomDoubles(new Random(11), 48));
            var expected = new double[12];
            Managed.QRSolve(a.ToColumnMajorArray(), 48, 12, rhs.ToColumnMajorArray(), 1, expected, QRMethod.Full);
            AssertClose(expected, full.Solve(rhs).ToColumnMajorArray(), 1e-9, "DenseQR.Solve");
        }
        finally
        {
            LinearAlgebraControl.Provider = previous;
        }
    }

    [Fact]
    public void Wrong_shapes_are_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => Provider.ThinQRFactor(new double[15], 5, 3, new double[8], new double[3]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.ThinQRFactor(new double[14], 5, 3, new double[9], new double[3]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.ThinQRFactor(new double[15], 3, 5, new double[25], new double[3]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.ThinQRFactor(new float[15], 5, 3, new float[9], new float[2]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.QRFactor(new double[15], 5, 3, new double[15], new double[3]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.QRSolve(new double[15], 3, 5, new double[3], 1, new double[5], QRMethod.Full));
        Assert.ThrowsAny<ArgumentException>(() => Provider.QRSolve(new double[15], 5, 3, new double[4], 1, new double[3], QRMethod.Full));
    }

    [Theory]
    [InlineData(48, 192)]
    [InlineData(192, 48)]
    [InlineData(33, 33)]
    public void Orthogonal_initializer_is_orthogonal_repeatable_and_keras_like(int rows, int cols)
    {
        var w = new float[rows * cols];
        Initializers.Orthogonal(new Random(5), w, rows, cols);
        var again = new float[rows * cols];
        Initializers.Orthogonal(new Random(5), again, rows, cols);
        Assert.Equal(w, again);

        // The same draws through the managed provider: Q of the normal matrix, signs of R's diagonal positive.
        int big = Math.Max(rows, cols), small = Math.Min(rows, cols);
        var random = new Random(5);
        var q = new double[big * small];
        for (int i = 0; i < q.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            q[i] = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        var r = new double[small * small];
        Managed.ThinQRFactor(q, big, small, r, new double[small]);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                int row = rows >= cols ? i : j, column = rows >= cols ? j : i;
                double expected = q[column * big + row] * Math.Sign(r[column * small + column]);
                Assert.True(Math.Abs(expected - w[i * cols + j]) < 1e-6, $"w[{i},{j}] = {w[i * cols + j]}, managed QR gives {expected}");
            }
    }

    /// <summary>Q (m x qColumns, ld m) times R (its first qColumns rows, ld ldr) is A; Q orthonormal; R zero below the diagonal.</summary>
    private static void AssertQr(double[] a, int m, int n, double[] q, int qColumns, double[] r, int ldr, double tolerance, string what)
    {
        double scale = Math.Max(1.0, a.Max(Math.Abs));
        for (int j = 0; j < n; j++)
        {
            for (int i = j + 1; i < ldr; i++) Assert.True(r[j * ldr + i] == 0, $"{what}: R[{i},{j}] = {r[j * ldr + i]} below the diagonal");
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < Math.Min(qColumns, ldr); p++) sum += q[p * m + i] * r[j * ldr + p];
                Assert.True(Math.Abs(sum - a[j * m + i]) <= tolerance * scale * Math.Max(m, n), $"{what}: (QR)[{i},{j}] = {sum}, A = {a[j * m + i]}");
            }
        }
        for (int c1 = 0; c1 < qColumns; c1++)
            for (int c2 = 0; c2 < qColumns; c2++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += q[c1 * m + i] * q[c2 * m + i];
                Assert.True(Math.Abs(dot - (c1 == c2 ? 1 : 0)) <= tolerance * Math.Max(m, 1) * 4, $"{what}: Q^T Q [{c1},{c2}] = {dot}");
            }
    }

    /// <summary>The first k columns of Q and rows of R agree once each row of R has a positive diagonal.</summary>
    private static void AssertSameUpToSigns(double[] qExpected, double[] rExpected, double[] q, double[] r, int m, int n, int k, int ldr, double tolerance, string what)
    {
        for (int j = 0; j < k; j++)
        {
            double se = Math.Sign(rExpected[j * ldr + j]), sa = Math.Sign(r[j * ldr + j]);
            Assert.True(se != 0 && sa != 0, $"{what}: R[{j},{j}] is zero");
            for (int i = 0; i < m; i++)
                Assert.True(Math.Abs(se * qExpected[j * m + i] - sa * q[j * m + i]) <= tolerance, $"{what}: Q[{i},{j}] {se * qExpected[j * m + i]} vs {sa * q[j * m + i]}");
            for (int c = j; c < n; c++)
                Assert.True(Math.Abs(se * rExpected[c * ldr + j] - sa * r[c * ldr + j]) <= tolerance * Math.Max(1, m), $"{what}: R[{j},{c}] {se * rExpected[c * ldr + j]} vs {sa * r[c * ldr + j]}");
        }
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"{what}: [{i}] expected {expected[i]}, got {actual[i]}");
    }

    private static double[] Wide(float[] values) => values.Select(v => (double)v).ToArray();
}
