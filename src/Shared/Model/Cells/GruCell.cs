using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnCluster.Model.Cells;

/// <summary>
/// Keras GRU with reset_after=True, gates z, r, h: mx = x K + b_in, mh = h_prev R + b_rec,
/// z = sig(mx_z + mh_z), r = sig(mx_r + mh_r), hh = tanh(mx_h + r * mh_h),
/// h = z h_prev + (1 - z) hh. One fused pass per step; keeps z, r, hh and mh_h.
/// </summary>
public sealed class GruCell(int units) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 3;
    public int StateCount => 1;
    public bool HasRecurrentBias => true;
    public bool SumsProjections => false;
    public bool HasDirectStatePath => true;
    public int CacheWidth => Units;

    // Full optimisation from the first call: these loops run T times per step, and tiered
    // compilation would otherwise run them unoptimised for the first hundreds of calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(scoped in CellForward s)
    {
        int n = Units, rows = s.H.Length / n;
        ref float gates = ref MemoryMarshal.GetReference(s.Gates);
        ref float rec = ref MemoryMarshal.GetReference(s.Recurrent);
        ref float bIn = ref MemoryMarshal.GetReference(s.InputBias);
        ref float bRec = ref MemoryMarshal.GetReference(s.RecurrentBias);
        ref float hPrev = ref MemoryMarshal.GetReference(s.HPrev);
        ref float h = ref MemoryMarshal.GetReference(s.H);
        ref float mhH = ref MemoryMarshal.GetReference(s.Cache);
        nuint un = (nuint)n;
        for (int b = 0; b < rows; b++)
        {
            nuint g0 = (nuint)(b * 3 * n), o = (nuint)(b * n);
            int j = 0;
            if (SimdMath.IsAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    nuint gi = g0 + (nuint)j, bj = (nuint)j, at = o + (nuint)j;
                    var z = SimdMath.Sigmoid(Vector256.LoadUnsafe(ref gates, gi) + Vector256.LoadUnsafe(ref bIn, bj)
                        + Vector256.LoadUnsafe(ref rec, gi) + Vector256.LoadUnsafe(ref bRec, bj));
                    var r = SimdMath.Sigmoid(Vector256.LoadUnsafe(ref gates, gi + un) + Vector256.LoadUnsafe(ref bIn, bj + un)
                        + Vector256.LoadUnsafe(ref rec, gi + un) + Vector256.LoadUnsafe(ref bRec, bj + un));
                    var mh = Vector256.LoadUnsafe(ref rec, gi + 2 * un) + Vector256.LoadUnsafe(ref bRec, bj + 2 * un);
                    var hh = SimdMath.Tanh(Vector256.FusedMultiplyAdd(r, mh, Vector256.LoadUnsafe(ref gates, gi + 2 * un) + Vector256.LoadUnsafe(ref bIn, bj + 2 * un)));
                    z.StoreUnsafe(ref gates, gi);
                    r.StoreUnsafe(ref gates, gi + un);
                    hh.StoreUnsafe(ref gates, gi + 2 * un);
                    mh.StoreUnsafe(ref mhH, at);
                    Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref hPrev, at) - hh, hh).StoreUnsafe(ref h, at);
                }
            for (; j < n; j++)
            {
                nuint gi = g0 + (nuint)j, bj = (nuint)j, at = o + (nuint)j;
                float z = SimdMath.Sigmoid(Unsafe.Add(ref gates, gi) + Unsafe.Add(ref bIn, bj) + Unsafe.Add(ref rec, gi) + Unsafe.Add(ref bRec, bj));
                float r = SimdMath.Sigmoid(Unsafe.Add(ref gates, gi + un) + Unsafe.Add(ref bIn, bj + un) + Unsafe.Add(ref rec, gi + un) + Unsafe.Add(ref bRec, bj + un));
                float mh = Unsafe.Add(ref rec, gi + 2 * un) + Unsafe.Add(ref bRec, bj + 2 * un);
                float hh = MathF.Tanh(Unsafe.Add(ref gates, gi + 2 * un) + Unsafe.Add(ref bIn, bj + 2 * un) + r * mh);
                Unsafe.Add(ref gates, gi) = z;
                Unsafe.Add(ref gates, gi + un) = r;
                Unsafe.Add(ref gates, gi + 2 * un) = hh;
                Unsafe.Add(ref mhH, at) = mh;
                Unsafe.Add(ref h, at) = z * (Unsafe.Add(ref hPrev, at) - hh) + hh;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(scoped in CellBackward s)
    {
        int n = Units, rows = s.DH.Length / n;
        ref float gates = ref MemoryMarshal.GetReference(s.Gates);
        ref float mhH = ref MemoryMarshal.GetReference(s.Cache);
        ref float hPrev = ref MemoryMarshal.GetReference(s.HPrev);
        ref float dh = ref MemoryMarshal.GetReference(s.DH);
        ref float dx = ref MemoryMarshal.GetReference(s.DInput);
        ref float dr = ref MemoryMarshal.GetReference(s.DRecurrent);
        ref float direct = ref MemoryMarshal.GetReference(s.DHPrevDirect);
        nuint un = (nuint)n;
        var one = Vector256<float>.One;
        for (int b = 0; b < rows; b++)
        {
            nuint g0 = (nuint)(b * 3 * n), o = (nuint)(b * n);
            int j = 0;
            if (SimdMath.IsAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                    var z = Vector256.LoadUnsafe(ref gates, gi);
                    var r = Vector256.LoadUnsafe(ref gates, gi + un);
                    var hh = Vector256.LoadUnsafe(ref gates, gi + 2 * un);
                    var dhj = Vector256.LoadUnsafe(ref dh, at);
                    var dz = dhj * (Vector256.LoadUnsafe(ref hPrev, at) - hh) * z * (one - z);
                    var dhh = dhj * (one - z) * (one - hh * hh);
                    var drg = dhh * Vector256.LoadUnsafe(ref mhH, at) * r * (one - r);
                    dz.StoreUnsafe(ref dx, gi);
                    drg.StoreUnsafe(ref dx, gi + un);
                    dhh.StoreUnsafe(ref dx, gi + 2 * un);
                    dz.StoreUnsafe(ref dr, gi);
                    drg.StoreUnsafe(ref dr, gi + un);
                    (dhh * r).StoreUnsafe(ref dr, gi + 2 * un);
                    (dhj * z).StoreUnsafe(ref direct, at);
                }
            for (; j < n; j++)
            {
                nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                float z = Unsafe.Add(ref gates, gi), r = Unsafe.Add(ref gates, gi + un), hh = Unsafe.Add(ref gates, gi + 2 * un);
                float dhj = Unsafe.Add(ref dh, at);
                float dz = dhj * (Unsafe.Add(ref hPrev, at) - hh) * z * (1f - z);
                float dhh = dhj * (1f - z) * (1f - hh * hh);
                float drg = dhh * Unsafe.Add(ref mhH, at) * r * (1f - r);
                Unsafe.Add(ref dx, gi) = dz;
                Unsafe.Add(ref dx, gi + un) = drg;
                Unsafe.Add(ref dx, gi + 2 * un) = dhh;
                Unsafe.Add(ref dr, gi) = dz;
                Unsafe.Add(ref dr, gi + un) = drg;
                Unsafe.Add(ref dr, gi + 2 * un) = dhh * r;
                Unsafe.Add(ref direct, at) = dhj * z;
            }
        }
    }
}
