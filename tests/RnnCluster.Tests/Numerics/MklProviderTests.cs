using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Providers.LinearAlgebra;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// The MKL-backed MathNet provider against MathNet's own managed provider. These tests must run
/// MKL: when it cannot be loaded they fail (MathBackendException), they are never skipped.
/// <see cref="LinearAlgebraControl.Provider"/> is process-global, hence the collection.
/// </summary>
[Collection("MathProvider")]
public sealed class MklProviderTests
{
    private const double DoubleTolerance = 1e-12;
    private const double FloatTolerance = 1e-5;

    private static readonly ManagedLinearAlgebraProvider Managed = ManagedLinearAlgebraProvider.Instance;
    private static readonly MklLinearAlgebraProvider Provider = MklLinearAlgebraProvider.Instance;

    /// <summary>(m, k, n): op(A) is m x k, op(B) is k x n.</summary>
    private static readonly (int M, int K, int N)[] Shapes =
    [
        (7, 5, 3), (1, 9, 4), (6, 9, 1), (1, 8, 1), (5, 1, 6), (33, 17, 29), (17, 33, 1), (1, 1, 1), (16, 16, 16),
    ];

    private static readonly Transpose[] Transposes = [Transpose.DontTranspose, Transpose.Transpose];

    public static TheoryData<Transpose, Transpose, int, int, int> GemmCases()
    {
        var data = new TheoryData<Transpose, Transpose, int, int, int>();
        foreach (var ta in Transposes)
        foreach (var tb in Transposes)
        foreach (var (m, k, n) in Shapes)
            data.Add(ta, tb, m, k, n);
        return data;
    }

    public static TheoryData<int, int, int> ProductShapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var (m, k, n) in Shapes) data.Add(m, k, n);
        return data;
    }

    public MklProviderTests()
    {
        Provider.InitializeVerify();
        Assert.True(Mkl.IsLoaded, "MKL must be loaded for these tests");
    }

    [Fact]
    public void Provider_is_available_and_describes_itself()
    {
        Assert.True(Provider.IsAvailable());
        Assert.True(MklLinearAlgebraProvider.IsLoaded);
        Assert.Contains("MKL", Provider.ToString());
        Provider.InitializeVerify(); // idempotent once loaded
    }

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Dgemm_with_update_matches_managed(Transpose ta, Transpose tb, int m, int k, int n)
    {
        var rng = new Random(HashCode.Combine(ta, tb, m, k, n, 1));
        var (ra, ca) = Stored(ta, m, k);
        var (rb, cb) = Stored(tb, k, n);
        var a = RandomDoubles(rng, ra * ca);
        var b = RandomDoubles(rng, rb * cb);
        var c0 = RandomDoubles(rng, m * n);

        foreach (var (alpha, beta) in new[] { (0.75, -1.25), (1.0, 1.0), (-2.0, 0.0), (0.0, 0.5) })
        {
            var expected = (double[])c0.Clone();
            var actual = (double[])c0.Clone();
            Managed.MatrixMultiplyWithUpdate(ta, tb, alpha, a, ra, ca, b, rb, cb, beta, expected);
            Provider.MatrixMultiplyWithUpdate(ta, tb, alpha, a, ra, ca, b, rb, cb, beta, actual);

            var bound = Abs(c0);
            Managed.MatrixMultiplyWithUpdate(ta, tb, Math.Abs(alpha), Abs(a), ra, ca, Abs(b), rb, cb, Math.Abs(beta), bound);
            AssertClose(expected, actual, bound, DoubleTolerance, $"dgemm {ta}/{tb} {m}x{k}x{n} alpha={alpha} beta={beta}");
        }
    }

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Sgemm_with_update_matches_managed(Transpose ta, Transpose tb, int m, int k, int n)
    {
        var rng = new Random(HashCode.Combine(ta, tb, m, k, n, 2));
        var (ra, ca) = Stored(ta, m, k);
        var (rb, cb) = Stored(tb, k, n);
        var a = RandomFloats(rng, ra * ca);
        var b = RandomFloats(rng, rb * cb);
        var c0 = RandomFloats(rng, m * n);

        foreach (var (alpha, beta) in new[] { (0.75f, -1.25f), (1f, 1f), (-2f, 0f), (0f, 0.5f) })
        {
            var expected = (float[])c0.Clone();
            var actual = (float[])c0.Clone();
            Managed.MatrixMultiplyWithUpdate(ta, tb, alpha, a, ra, ca, b, rb, cb, beta, expected);
            Provider.MatrixMultiplyWithUpdate(ta, tb, alpha, a, ra, ca, b, rb, cb, beta, actual);

            var bound = Abs(c0);
            Managed.MatrixMultiplyWithUpdate(ta, tb, Math.Abs(alpha), Abs(a), ra, ca, Abs(b), rb, cb, Math.Abs(beta), bound);
            AssertClose(expected, actual, bound, FloatTolerance, $"sgemm {ta}/{tb} {m}x{k}x{n} alpha={alpha} beta={beta}");
        }
    }

    [Theory]
    [MemberData(nameof(ProductShapes))]
    public void MatrixMultiply_matches_managed(int m, int k, int n)
    {
        var rng = new Random(HashCode.Combine(m, k, n, 3));
        var ad = RandomDoubles(rng, m * k);
        var bd = RandomDoubles(rng, k * n);
        var expectedD = new double[m * n];
        var actualD = RandomDoubles(rng, m * n); // stale contents must be overwritten
        Managed.MatrixMultiply(ad, m, k, bd, k, n, expectedD);
        Provider.MatrixMultiply(ad, m, k, bd, k, n, actualD);
        var boundD = new double[m * n];
        Managed.MatrixMultiply(Abs(ad), m, k, Abs(bd), k, n, boundD);
        AssertClose(expectedD, actualD, boundD, DoubleTolerance, $"double {m}x{k}x{n}");

        var af = RandomFloats(rng, m * k);
        var bf = RandomFloats(rng, k * n);
        var expectedF = new float[m * n];
        var actualF = RandomFloats(rng, m * n);
        Managed.MatrixMultiply(af, m, k, bf, k, n, expectedF);
        Provider.MatrixMultiply(af, m, k, bf, k, n, actualF);
        var boundF = new float[m * n];
        Managed.MatrixMultiply(Abs(af), m, k, Abs(bf), k, n, boundF);
        AssertClose(expectedF, actualF, boundF, FloatTolerance, $"float {m}x{k}x{n}");
    }

    [Fact]
    public void Gemm_with_beta_zero_overwrites_nan_in_c()
    {
        var rng = new Random(4);
        var a = RandomFloats(rng, 7 * 5);
        var b = RandomFloats(rng, 5 * 3);
        var c = Enumerable.Repeat(float.NaN, 7 * 3).ToArray();
        Provider.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1f, a, 7, 5, b, 5, 3, 0f, c);
        Assert.All(c, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(0, 5, 3)]
    [InlineData(4, 5, 0)]
    [InlineData(4, 0, 3)]
    [InlineData(0, 0, 0)]
    public void Zero_size_products_match_managed(int m, int k, int n)
    {
        foreach (var ta in Transposes)
        foreach (var tb in Transposes)
        {
            var (ra, ca) = Stored(ta, m, k);
            var (rb, cb) = Stored(tb, k, n);
            var rng = new Random(5);
            var a = RandomDoubles(rng, ra * ca);
            var b = RandomDoubles(rng, rb * cb);
            var c0 = RandomDoubles(rng, m * n);
            foreach (var beta in new[] { 0.0, 1.0, -0.5 })
            {
                var expected = (double[])c0.Clone();
                var actual = (double[])c0.Clone();
                Managed.MatrixMultiplyWithUpdate(ta, tb, 2.0, a, ra, ca, b, rb, cb, beta, expected);
                Provider.MatrixMultiplyWithUpdate(ta, tb, 2.0, a, ra, ca, b, rb, cb, beta, actual);
                Assert.Equal(expected, actual);
            }

            var fa = new float[ra * ca];
            var fb = new float[rb * cb];
            var fc = Enumerable.Repeat(3f, m * n).ToArray();
            Provider.MatrixMultiplyWithUpdate(ta, tb, 1f, fa, ra, ca, fb, rb, cb, 0.5f, fc);
            Assert.All(fc, v => Assert.Equal(1.5f, v));
        }

        var plain = Enumerable.Repeat(9.0, m * n).ToArray();
        Provider.MatrixMultiply(new double[m * k], m, k, new double[k * n], k, n, plain);
        Assert.All(plain, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Mismatched_dimensions_throw_argument_exceptions()
    {
        var a = new double[7 * 5];
        var b = new double[5 * 3];
        var c = new double[7 * 3];
        // Stored a is 7x5; transposed it is 5x7, which cannot multiply a 5x3 b.
        Assert.ThrowsAny<ArgumentException>(() =>
            Provider.MatrixMultiplyWithUpdate(Transpose.Transpose, Transpose.DontTranspose, 1.0, a, 7, 5, b, 5, 3, 0.0, c));
        // Stored b is 5x3; transposed it is 3x5, which cannot follow a 7x5 a.
        Assert.ThrowsAny<ArgumentException>(() =>
            Provider.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.Transpose, 1.0, a, 7, 5, b, 5, 3, 0.0, c));
        // Wrong c size.
        Assert.ThrowsAny<ArgumentException>(() =>
            Provider.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1.0, a, 7, 5, b, 5, 3, 0.0, new double[20]));
        // Array length disagrees with the stated shape.
        Assert.ThrowsAny<ArgumentException>(() =>
            Provider.MatrixMultiply(new float[34], 7, 5, new float[15], 5, 3, new float[21]));
        Assert.ThrowsAny<ArgumentException>(() =>
            Provider.MatrixMultiply(new float[35], 7, 5, new float[18], 6, 3, new float[21]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.DotProduct(new float[3], new float[4]));
        Assert.ThrowsAny<ArgumentException>(() => Provider.AddVectorToScaledVector(new double[3], 1.0, new double[4], new double[3]));
    }

    [Fact]
    public void Output_aliasing_an_input_still_gives_the_product()
    {
        var rng = new Random(6);
        var a = RandomDoubles(rng, 6 * 6);
        var b = RandomDoubles(rng, 6 * 6);
        var expected = new double[36];
        Managed.MatrixMultiply(a, 6, 6, b, 6, 6, expected);
        var aliased = (double[])a.Clone();
        Provider.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1.0, aliased, 6, 6, b, 6, 6, 0.0, aliased);
        var bound = new double[36];
        Managed.MatrixMultiply(Abs(a), 6, 6, Abs(b), 6, 6, bound);
        AssertClose(expected, aliased, bound, DoubleTolerance, "c aliasing a");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Axpy_scal_dot_match_managed(int length)
    {
        var rng = new Random(length);
        foreach (var alpha in new[] { 0.0, 1.0, -0.3 })
        {
            var x = RandomDoubles(rng, length);
            var y = RandomDoubles(rng, length);

            var expected = new double[length];
            var actual = new double[length];
            Managed.AddVectorToScaledVector(y, alpha, x, expected);
            Provider.AddVectorToScaledVector(y, alpha, x, actual);
            AssertClose(expected, actual, Sum(Abs(y), Abs(x)), DoubleTolerance, $"daxpy alpha={alpha}");

            var inPlace = (double[])y.Clone();
            Provider.AddVectorToScaledVector(inPlace, alpha, x, inPlace);
            AssertClose(expected, inPlace, Sum(Abs(y), Abs(x)), DoubleTolerance, $"daxpy in place alpha={alpha}");

            var intoX = (double[])x.Clone();
            Provider.AddVectorToScaledVector(y, alpha, intoX, intoX);
            AssertClose(expected, intoX, Sum(Abs(y), Abs(x)), DoubleTolerance, $"daxpy into x alpha={alpha}");

            Managed.ScaleArray(alpha, x, expected);
            Provider.ScaleArray(alpha, x, actual);
            AssertClose(expected, actual, Abs(x), DoubleTolerance, $"dscal alpha={alpha}");
            var scaledInPlace = (double[])x.Clone();
            Provider.ScaleArray(alpha, scaledInPlace, scaledInPlace);
            AssertClose(expected, scaledInPlace, Abs(x), DoubleTolerance, $"dscal in place alpha={alpha}");

            var dotBound = Managed.DotProduct(Abs(x), Abs(y));
            Assert.True(Math.Abs(Managed.DotProduct(x, y) - Provider.DotProduct(x, y)) <= DoubleTolerance * dotBound);
        }

        foreach (var alpha in new[] { 0f, 1f, -0.3f })
        {
            var x = RandomFloats(rng, length);
            var y = RandomFloats(rng, length);

            var expected = new float[length];
            var actual = new float[length];
            Managed.AddVectorToScaledVector(y, alpha, x, expected);
            Provider.AddVectorToScaledVector(y, alpha, x, actual);
            AssertClose(expected, actual, Sum(Abs(y), Abs(x)), FloatTolerance, $"saxpy alpha={alpha}");

            var inPlace = (float[])y.Clone();
            Provider.AddVectorToScaledVector(inPlace, alpha, x, inPlace);
            AssertClose(expected, inPlace, Sum(Abs(y), Abs(x)), FloatTolerance, $"saxpy in place alpha={alpha}");

            Managed.ScaleArray(alpha, x, expected);
            Provider.ScaleArray(alpha, x, actual);
            AssertClose(expected, actual, Abs(x), FloatTolerance, $"sscal alpha={alpha}");

            var dotBound = Managed.DotProduct(Abs(x), Abs(y));
            Assert.True(Math.Abs(Managed.DotProduct(x, y) - Provider.DotProduct(x, y)) <= FloatTolerance * dotBound);
        }

        Assert.Equal(0.0, Provider.DotProduct(Array.Empty<double>(), Array.Empty<double>()));
        Assert.Equal(0f, Provider.DotProduct(Array.Empty<float>(), Array.Empty<float>()));
    }

    [Fact]
    public void Delegated_operations_match_managed()
    {
        var rng = new Random(7);
        var data = RandomDoubles(rng, 16);
        for (int i = 0; i < 4; i++) data[i * 4 + i] += 4.0; // diagonally dominant: safely invertible
        var expected = (double[])data.Clone();
        var actual = (double[])data.Clone();
        Managed.LUInverse(expected, 4);
        Provider.LUInverse(actual, 4);
        Assert.Equal(expected, actual);
        Assert.Equal(Managed.MatrixNorm(Norm.FrobeniusNorm, 4, 4, data), Provider.MatrixNorm(Norm.FrobeniusNorm, 4, 4, data), 12);

        var z = new[] { new System.Numerics.Complex(1, 2), new System.Numerics.Complex(-3, 0.5) };
        Assert.Equal(Managed.DotProduct(z, z), Provider.DotProduct(z, z));
    }

    [Fact]
    public void MathBackend_installs_the_provider_and_dense_products_run_through_it()
    {
        var previous = LinearAlgebraControl.Provider;
        try
        {
            var kernels = MathBackend.Start(new MathOptions(MathKind.Mkl));
            Assert.Equal(MathKind.Mkl, kernels.Kind);
            Assert.Same(MklLinearAlgebraProvider.Instance, LinearAlgebraControl.Provider);
            Assert.Contains("MKL", MathBackend.Describe(kernels));

            var rng = new Random(8);
            var (m, k, n) = (33, 17, 29);
            var a = Matrix<float>.Build.Dense(m, k, RandomFloats(rng, m * k));
            var b = Matrix<float>.Build.Dense(k, n, RandomFloats(rng, k * n));

            var product = a * b;

            var expected = new float[m * n];
            Managed.MatrixMultiply(a.ToColumnMajorArray(), m, k, b.ToColumnMajorArray(), k, n, expected);
            var bound = new float[m * n];
            Managed.MatrixMultiply(Abs(a.ToColumnMajorArray()), m, k, Abs(b.ToColumnMajorArray()), k, n, bound);
            AssertClose(expected, product.ToColumnMajorArray(), bound, FloatTolerance, "Matrix<float> a * b");

            // Bit-identical to calling the MKL provider directly: the product really went to MKL.
            var direct = new float[m * n];
            Provider.MatrixMultiply(a.ToColumnMajorArray(), m, k, b.ToColumnMajorArray(), k, n, direct);
            Assert.Equal(direct, product.ToColumnMajorArray());

            // Transposed products go through MatrixMultiplyWithUpdate.
            var bt = Matrix<float>.Build.Dense(n, k, RandomFloats(rng, n * k));
            var abt = a.TransposeAndMultiply(bt);
            var expectedT = new float[m * n];
            Managed.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.Transpose, 1f,
                a.ToColumnMajorArray(), m, k, bt.ToColumnMajorArray(), n, k, 0f, expectedT);
            var boundT = new float[m * n];
            Managed.MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.Transpose, 1f,
                Abs(a.ToColumnMajorArray()), m, k, Abs(bt.ToColumnMajorArray()), n, k, 0f, boundT);
            AssertClose(expectedT, abt.ToColumnMajorArray(), boundT, FloatTolerance, "Matrix<float> a * bt^T");
        }
        finally
        {
            LinearAlgebraControl.Provider = previous;
        }
    }

    [Fact]
    public void ParseKind_rejects_unknown_backends_by_name()
    {
        var error = Assert.Throws<MathBackendException>(() => MathOptions.ParseKind("bogus"));
        Assert.Contains("bogus", error.Message);
        Assert.Equal(MathKind.Mkl, MathOptions.ParseKind(null));
        Assert.Equal(MathKind.Managed, MathOptions.ParseKind(" Managed "));
    }

    // ---- helpers

    /// <summary>Stored shape of a matrix whose op() is rows x columns.</summary>
    private static (int Rows, int Columns) Stored(Transpose t, int rows, int columns) =>
        t == Transpose.DontTranspose ? (rows, columns) : (columns, rows);

    internal static double[] RandomDoubles(Random rng, int length)
    {
        var values = new double[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextDouble() * 2.0 - 1.0;
        return values;
    }

    internal static float[] RandomFloats(Random rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextSingle() * 2f - 1f;
        return values;
    }

    private static double[] Abs(double[] values) => values.Select(Math.Abs).ToArray();

    private static float[] Abs(float[] values) => values.Select(MathF.Abs).ToArray();

    private static double[] Sum(double[] x, double[] y) => x.Zip(y, (p, q) => p + q).ToArray();

    private static float[] Sum(float[] x, float[] y) => x.Zip(y, (p, q) => p + q).ToArray();

    /// <summary>
    /// |expected - actual| &lt;= tolerance * bound element-wise, where bound is the same
    /// computation on absolute values (the natural scale of rounding error, robust to cancellation).
    /// </summary>
    internal static void AssertClose(double[] expected, double[] actual, double[] bound, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double allowed = tolerance * Math.Max(bound[i], double.Epsilon);
            if (!(Math.Abs(expected[i] - actual[i]) <= allowed))
                Assert.Fail($"{what}: element {i} expected {expected[i]:R} got {actual[i]:R} (allowed error {allowed:G3})");
        }
    }

    internal static void AssertClose(float[] expected, float[] actual, float[] bound, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double allowed = tolerance * Math.Max(bound[i], float.Epsilon);
            if (!(Math.Abs((double)expected[i] - actual[i]) <= allowed))
                Assert.Fail($"{what}: element {i} expected {expected[i]:R} got {actual[i]:R} (allowed error {allowed:G3})");
        }
    }
}

/// <summary>The engine's MKL kernels (row-major, caller-owned buffers) against the managed ones.</summary>
[Collection("MathProvider")]
public sealed class MklKernelsTests
{
    private const double FloatTolerance = 1e-5;

    private readonly MklKernels _mkl = new(1);
    private readonly ManagedKernels _managed = new();

    public static TheoryData<bool, bool, int, int, int, int> GemmCases()
    {
        var data = new TheoryData<bool, bool, int, int, int, int>();
        foreach (var ta in new[] { false, true })
        foreach (var tb in new[] { false, true })
        foreach (var (m, n, k) in new[] { (7, 3, 5), (1, 9, 4), (6, 1, 9), (33, 29, 17), (4, 4, 1) })
        foreach (var pad in new[] { 0, 3 })
            data.Add(ta, tb, m, n, k, pad);
        return data;
    }

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Gemm_matches_managed_with_strides_and_offsets(bool transA, bool transB, int m, int n, int k, int pad)
    {
        var rng = new Random(HashCode.Combine(transA, transB, m, n, k, pad));
        // Row-major storage: A is m x k (or k x m when transposed), B is k x n (or n x k), C is m x n.
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + 2 * pad, ldc = n + pad;
        int offA = 2 + pad, offB = 1, offC = 3 + pad;

        var a = MklProviderTests.RandomFloats(rng, offA + aRows * lda + 5);
        var b = MklProviderTests.RandomFloats(rng, offB + bRows * ldb + 5);
        var c0 = MklProviderTests.RandomFloats(rng, offC + m * ldc + 5);

        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, -1.5f), (-1f, 1f) })
        {
            var expected = (float[])c0.Clone();
            var actual = (float[])c0.Clone();
            _managed.Gemm(transA, transB, m, n, k, alpha, a.AsSpan(offA), lda, b.AsSpan(offB), ldb, beta, expected.AsSpan(offC), ldc);
            _mkl.Gemm(transA, transB, m, n, k, alpha, a.AsSpan(offA), lda, b.AsSpan(offB), ldb, beta, actual.AsSpan(offC), ldc);

            // Bound: the same product on absolute values. Padding and out-of-range elements keep
            // their original values in both, so comparing whole buffers also checks nothing else was written.
            var bound = c0.Select(MathF.Abs).ToArray();
            _managed.Gemm(transA, transB, m, n, k, MathF.Abs(alpha), a.Select(MathF.Abs).ToArray().AsSpan(offA), lda,
                b.Select(MathF.Abs).ToArray().AsSpan(offB), ldb, MathF.Abs(beta), bound.AsSpan(offC), ldc);
            MklProviderTests.AssertClose(expected, actual, bound, FloatTolerance,
                $"gemm transA={transA} transB={transB} {m}x{n}x{k} pad={pad} alpha={alpha} beta={beta}");
            for (int i = 0; i < c0.Length; i++)
            {
                bool inC = i >= offC && (i - offC) / ldc < m && (i - offC) % ldc < n;
                if (!inC) Assert.Equal(c0[i], actual[i]);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1001)]
    public void Tanh_and_exp_match_managed(int length)
    {
        var rng = new Random(length + 10);
        var x = MklProviderTests.RandomFloats(rng, length).Select(v => v * 12f).ToArray();

        var expected = new float[length];
        var actual = new float[length];
        _managed.Tanh(x, expected);
        _mkl.Tanh(x, actual);
        MklProviderTests.AssertClose(expected, actual, expected.Select(MathF.Abs).ToArray(), FloatTolerance, "tanh");

        var inPlace = (float[])x.Clone();
        _mkl.Tanh(inPlace, inPlace);
        MklProviderTests.AssertClose(expected, inPlace, expected.Select(MathF.Abs).ToArray(), FloatTolerance, "tanh in place");

        _managed.Exp(x, expected);
        _mkl.Exp(x, actual);
        MklProviderTests.AssertClose(expected, actual, expected, FloatTolerance, "exp");

        inPlace = (float[])x.Clone();
        _mkl.Exp(inPlace, inPlace);
        MklProviderTests.AssertClose(expected, inPlace, expected, FloatTolerance, "exp in place");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1001)]
    public void Axpy_scale_dot_match_managed_on_slices(int length)
    {
        var rng = new Random(length + 20);
        var x = MklProviderTests.RandomFloats(rng, length + 3);
        var y = MklProviderTests.RandomFloats(rng, length + 5);
        var xs = x.AsSpan(3, length);

        var expected = (float[])y.Clone();
        var actual = (float[])y.Clone();
        _managed.Axpy(-0.7f, xs, expected.AsSpan(2, length));
        _mkl.Axpy(-0.7f, xs, actual.AsSpan(2, length));
        var bound = y.Select(MathF.Abs).ToArray();
        for (int i = 0; i < length; i++) bound[i + 2] += 0.7f * MathF.Abs(xs[i]);
        MklProviderTests.AssertClose(expected, actual, bound, FloatTolerance, "axpy");

        expected = (float[])y.Clone();
        actual = (float[])y.Clone();
        _managed.Scale(1.3f, expected.AsSpan(1, length));
        _mkl.Scale(1.3f, actual.AsSpan(1, length));
        MklProviderTests.AssertClose(expected, actual, expected.Select(MathF.Abs).ToArray(), FloatTolerance, "scale");

        var ys = y.AsSpan(4, length);
        float dotBound = 0f;
        for (int i = 0; i < length; i++) dotBound += MathF.Abs(xs[i] * ys[i]);
        Assert.True(Math.Abs(_managed.Dot(xs, ys) - _mkl.Dot(xs, ys)) <= FloatTolerance * dotBound,
            $"dot: managed {_managed.Dot(xs, ys)} mkl {_mkl.Dot(xs, ys)}");
        Assert.Equal(0f, _mkl.Dot(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty));
    }
}
