using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnCluster.Model.Cells;

/// <summary>
/// Keras LSTM, gates i, f, c (candidate g), o: z = x K + h_prev R + b,
/// c = sig(f) c_prev + sig(i) tanh(g), h = sig(o) tanh(c). One fused pass per step; keeps the
/// activated gates (in place of the pre-activations) and tanh(c).
/// </summary>
public sealed class LstmCell(int units) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 4;
    public int StateCount => 2;
    public bool HasRecurrentBias => false;
    public bool SumsProjections => true;
    public bool HasDirectStatePath => false;
    public int CacheWidth => Units;

    // Full optimisation from the first call: these loops run T times per step, and tiered
    // compilation would otherwise run them unoptimised for the first hundreds of calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(scoped in CellForward s)
    {
        int n = Units, rows = s.H.Length / n;
        ref float gates = ref MemoryMarshal.GetReference(s.Gates);
        ref float cPrev = ref MemoryMarshal.GetReference(s.CPrev);
        ref float c = ref MemoryMarshal.GetReference(s.C);
        ref float h = ref MemoryMarshal.GetReference(s.H);
        ref float tanhC = ref MemoryMarshal.GetReference(s.Cache);
        nuint un = (nuint)n;
        for (int b = 0; b < rows; b++)
        {
            nuint g0 = (nuint)(b * 4 * n), o = (nuint)(b * n);
            int j = 0;
            if (SimdMath.IsAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                    var i = SimdMath.Sigmoid(Vector256.LoadUnsafe(ref gates, gi));
                    var f = SimdMath.Sigmoid(Vector256.LoadUnsafe(ref gates, gi + un));
                    var g = SimdMath.Tanh(Vector256.LoadUnsafe(ref gates, gi + 2 * un));
                    var og = SimdMath.Sigmoid(Vector256.LoadUnsafe(ref gates, gi + 3 * un));
                    var cv = Vector256.FusedMultiplyAdd(f, Vector256.LoadUnsafe(ref cPrev, at), i * g);
                    var tc = SimdMath.Tanh(cv);
                    i.StoreUnsafe(ref gates, gi);
                    f.StoreUnsafe(ref gates, gi + un);
                    g.StoreUnsafe(ref gates, gi + 2 * un);
                    og.StoreUnsafe(ref gates, gi + 3 * un);
                    cv.StoreUnsafe(ref c, at);
                    tc.StoreUnsafe(ref tanhC, at);
                    (og * tc).StoreUnsafe(ref h, at);
                }
            for (; j < n; j++)
            {
                nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                float i = SimdMath.Sigmoid(Unsafe.Add(ref gates, gi));
                float f = SimdMath.Sigmoid(Unsafe.Add(ref gates, gi + un));
                float g = MathF.Tanh(Unsafe.Add(ref gates, gi + 2 * un));
                float og = SimdMath.Sigmoid(Unsafe.Add(ref gates, gi + 3 * un));
                float cv = f * Unsafe.Add(ref cPrev, at) + i * g;
                float tc = MathF.Tanh(cv);
                Unsafe.Add(ref gates, gi) = i;
                Unsafe.Add(ref gates, gi + un) = f;
                Unsafe.Add(ref gates, gi + 2 * un) = g;
                Unsafe.Add(ref gates, gi + 3 * un) = og;
                Unsafe.Add(ref c, at) = cv;
                Unsafe.Add(ref tanhC, at) = tc;
                Unsafe.Add(ref h, at) = og * tc;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(scoped in CellBackward s)
    {
        int n = Units, rows = s.DH.Length / n;
        ref float gates = ref MemoryMarshal.GetReference(s.Gates);
        ref float tanhC = ref MemoryMarshal.GetReference(s.Cache);
        ref float cPrev = ref MemoryMarshal.GetReference(s.CPrev);
        ref float dh = ref MemoryMarshal.GetReference(s.DH);
        ref float dc = ref MemoryMarshal.GetReference(s.DC);
        ref float d = ref MemoryMarshal.GetReference(s.DInput);
        nuint un = (nuint)n;
        var one = Vector256<float>.One;
        for (int b = 0; b < rows; b++)
        {
            nuint g0 = (nuint)(b * 4 * n), o = (nuint)(b * n);
            int j = 0;
            if (SimdMath.IsAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                    var i = Vector256.LoadUnsafe(ref gates, gi);
                    var f = Vector256.LoadUnsafe(ref gates, gi + un);
                    var g = Vector256.LoadUnsafe(ref gates, gi + 2 * un);
                    var og = Vector256.LoadUnsafe(ref gates, gi + 3 * un);
                    var tc = Vector256.LoadUnsafe(ref tanhC, at);
                    var dhj = Vector256.LoadUnsafe(ref dh, at);
                    var dct = Vector256.LoadUnsafe(ref dc, at) + dhj * og * (one - tc * tc);
                    (dct * g * i * (one - i)).StoreUnsafe(ref d, gi);
                    (dct * Vector256.LoadUnsafe(ref cPrev, at) * f * (one - f)).StoreUnsafe(ref d, gi + un);
                    (dct * i * (one - g * g)).StoreUnsafe(ref d, gi + 2 * un);
                    (dhj * tc * og * (one - og)).StoreUnsafe(ref d, gi + 3 * un);
                    (dct * f).StoreUnsafe(ref dc, at);
                }
            for (; j < n; j++)
            {
                nuint gi = g0 + (nuint)j, at = o + (nuint)j;
                float i = Unsafe.Add(ref gates, gi), f = Unsafe.Add(ref gates, gi + un);
                float g = Unsafe.Add(ref gates, gi + 2 * un), og = Unsafe.Add(ref gates, gi + 3 * un);
                float tc = Unsafe.Add(ref tanhC, at), dhj = Unsafe.Add(ref dh, at);
                float dct = Unsafe.Add(ref dc, at) + dhj * og * (1f - tc * tc);
                Unsafe.Add(ref d, gi) = dct * g * i * (1f - i);
                Unsafe.Add(ref d, gi + un) = dct * Unsafe.Add(ref cPrev, at) * f * (1f - f);
                Unsafe.Add(ref d, gi + 2 * un) = dct * i * (1f - g * g);
                Unsafe.Add(ref d, gi + 3 * un) = dhj * tc * og * (1f - og);
                Unsafe.Add(ref dc, at) = dct * f;
            }
        }
    }
}
