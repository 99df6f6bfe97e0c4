using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnCluster.Model.Cells;

/// <summary>Keras SimpleRNN: h = act(x K + h_prev R + b), act tanh or relu.</summary>
public sealed class SimpleRnnCell(int units, Activation activation) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 1;
    public int StateCount => 1;
    public bool HasRecurrentBias => false;
    public bool SumsProjections => true;
    public bool HasDirectStatePath => false;
    public int CacheWidth => 0;

    // Full optimisation from the first call: these loops run T times per step, and tiered
    // compilation would otherwise run them unoptimised for the first hundreds of calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(scoped in CellForward s)
    {
        int n = Units, rows = s.H.Length / n;
        ref float gates = ref MemoryMarshal.GetReference(s.Gates);
        ref float h = ref MemoryMarshal.GetReference(s.H);
        bool tanh = activation == Activation.Tanh;
        for (int b = 0; b < rows; b++)
        {
            nuint o = (nuint)(b * n);
            int j = 0;
            if (SimdMath.IsAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    nuint at = o + (nuint)j;
                    var z = Vector256.LoadUnsafe(ref gates, at);
                    (tanh ? SimdMath.Tanh(z) : Vector256.Max(z, Vector256<float>.Zero)).StoreUnsafe(ref h, at);
                }
            for (; j < n; j++)
            {
                nuint at = o + (nuint)j;
                float z = Unsafe.Add(ref gates, at);
                Unsafe.Add(ref h, at) = tanh ? MathF.Tanh(z) : MathF.Max(z, 0f);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(scoped in CellBackward s)
    {
        var h = s.H;
        var dh = s.DH;
        var d = s.DInput;
        if (activation == Activation.Tanh)
        {
            int i = 0;
            if (SimdMath.IsAccelerated)
            {
                var vh = SimdMath.V(h);
                var vdh = SimdMath.V(dh);
                var vd = SimdMath.V(d);
                for (int k = 0; k < vh.Length; k++) vd[k] = vdh[k] * (Vector256<float>.One - vh[k] * vh[k]);
                i = vh.Length * 8;
            }
            for (; i < h.Length; i++) d[i] = dh[i] * (1f - h[i] * h[i]);
        }
        else
            for (int i = 0; i < h.Length; i++) d[i] = h[i] > 0f ? dh[i] : 0f;
    }
}
