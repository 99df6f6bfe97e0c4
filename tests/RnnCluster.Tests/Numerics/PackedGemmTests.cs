using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// The packed products the unroller's time loop runs on (<see cref="IMathKernels.PackB"/>,
/// <see cref="IMathKernels.GemmPacked"/>), on both backends: against the plain GEMM of the same
/// backend (MKL: the same bits, which the engine's reproducibility relies on) and against each other.
/// </summary>
public sealed class PackedGemmTests
{
    private const double FloatTolerance = 1e-5;

    private readonly IMathKernels _mkl = new MklKernels();
    private readonly IMathKernels _managed = new ManagedKernels();

    public static TheoryData<bool, int, int, int, int> Cases()
    {
        var data = new TheoryData<bool, int, int, int, int>();
        foreach (var trans in new[] { false, true })
        foreach (var (packedRows, m, n, k) in new[] { (7, 7, 5, 3), (32, 16, 64, 17), (32, 32, 48, 129), (1, 1, 1, 1), (16, 9, 1, 40) })
            data.Add(trans, packedRows, m, n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Packed_products_match_plain_gemm_on_both_backends(bool transB, int packedRows, int m, int n, int k)
    {
        var rng = new Random(HashCode.Combine(transB, packedRows, m, n, k));
        int ldb = (transB ? k : n) + 2, lda = k + 1, ldc = n + 3;
        var b = MklProviderTests.RandomFloats(rng, (transB ? n : k) * ldb);
        var a = MklProviderTests.RandomFloats(rng, m * lda);
        var c0 = MklProviderTests.RandomFloats(rng, m * ldc);

        var results = new Dictionary<MathKind, float[]>();
        foreach (var kernels in new[] { _mkl, _managed })
        {
            var packed = Aligned(kernels.PackedSize(packedRows, n, k));
            kernels.PackB(transB, packedRows, n, k, b, ldb, packed);
            foreach (var beta in new[] { 0f, 1f })
            {
                var expected = (float[])c0.Clone();
                kernels.Gemm(false, transB, m, n, k, 1f, a, lda, b, ldb, beta, expected, ldc);
                var actual = (float[])c0.Clone();
                kernels.GemmPacked(m, n, k, a, lda, packed, beta, actual, ldc);
                if (kernels.Kind == MathKind.Mkl) Assert.Equal(expected, actual); // the engine's bits do not depend on packing
                else
                {
                    var bound = c0.Select(MathF.Abs).ToArray();
                    kernels.Gemm(false, transB, m, n, k, 1f, a.Select(MathF.Abs).ToArray(), lda, b.Select(MathF.Abs).ToArray(), ldb, beta, bound, ldc);
                    MklProviderTests.AssertClose(expected, actual, bound, FloatTolerance, $"managed packed, beta {beta}");
                }
                // Padding between the rows of C is left alone.
                for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc && i * ldc + j < c0.Length; j++)
                        Assert.Equal(c0[i * ldc + j], actual[i * ldc + j]);
                if (beta == 1f) results[kernels.Kind] = actual;
            }
        }
        var magnitude = c0.Select(MathF.Abs).ToArray();
        for (int i = 0; i < magnitude.Length; i++) magnitude[i] += k * 1f; // |a|, |b| < 1
        MklProviderTests.AssertClose(results[MathKind.Managed], results[MathKind.Mkl], magnitude, FloatTolerance, "MKL against managed");
    }

    [Fact]
    public void Packing_into_too_small_a_buffer_is_refused()
    {
        foreach (var kernels in new[] { _mkl, _managed })
        {
            var b = new float[8 * 8];
            var small = new byte[kernels.PackedSize(8, 8, 8) - 1];
            Assert.ThrowsAny<ArgumentException>(() => kernels.PackB(false, 8, 8, 8, b, 8, small));
        }
    }

    [Fact]
    public void Thread_counts_are_what_the_backend_was_given()
    {
        Assert.Equal(1, _mkl.Threads); // the test process runs sequential MKL
        Assert.Equal(1, _managed.Threads);
        Assert.Equal(2, new ManagedKernels(threads: 2).Threads);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedKernels(threads: 0));
        _mkl.UseOneThreadOnThisThread();
        _mkl.UseOneThreadOnThisThread(); // idempotent
    }

    /// <summary>A 64-byte-aligned window of a pinned array, as the engine's PackedMatrix hands the kernels.</summary>
    private static unsafe Span<byte> Aligned(long length)
    {
        var storage = GC.AllocateArray<byte>(checked((int)length + 64), pinned: true);
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(storage));
        int offset = (int)(((start + 63) & ~(nint)63) - start);
        return storage.AsSpan(offset, (int)length);
    }
}
