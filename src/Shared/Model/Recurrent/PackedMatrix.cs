using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RnnCluster.Numerics;

namespace RnnCluster.Model.Recurrent;

/// <summary>
/// One GEMM right-hand operand in the math backend's packed form (<see cref="IMathKernels.PackB"/>:
/// MKL's packed format, or a row-major copy for managed math), packed once per pass and multiplied
/// by every timestep. It owns its storage: allocated on the first pack, grown when a larger shape
/// needs more, then kept, pinned and 64-byte aligned (so MKL takes the same code path every time);
/// nothing outside sees it, products go through <see cref="Multiply"/>.
/// </summary>
internal sealed unsafe class PackedMatrix(IMathKernels kernels)
{
    private const int Alignment = 64;

    private byte[] _storage = [];
    private int _offset;
    private int _length;
    private int _rows;
    private int _columns;
    private int _inner;

    /// <summary>Packs op(<paramref name="source"/>) as the k x n right-hand operand of products with up to m rows.</summary>
    public void Pack(bool transpose, int m, int n, int k, ReadOnlySpan<float> source, int ld)
    {
        long size = kernels.PackedSize(m, n, k);
        if (_storage.Length < size + Alignment)
        {
            _storage = GC.AllocateUninitializedArray<byte>(checked((int)size + Alignment), pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
            _offset = (int)(((start + Alignment - 1) & ~(nint)(Alignment - 1)) - start);
        }
        _length = (int)size;
        kernels.PackB(transpose, m, n, k, source, ld, _storage.AsSpan(_offset, _length));
        (_rows, _columns, _inner) = (m, n, k);
    }

    /// <summary>C (m x n, <paramref name="ldc"/>) = A (m x k, <paramref name="lda"/>) times the packed operand, plus beta C.</summary>
    public void Multiply(int m, ReadOnlySpan<float> a, int lda, float beta, Span<float> c, int ldc)
    {
        if (m > _rows)
            throw new InvalidOperationException($"the operand was packed for products of up to {_rows} rows, not {m}");
        kernels.GemmPacked(m, _columns, _inner, a, lda, _storage.AsSpan(_offset, _length), beta, c, ldc);
    }
}
