using RnnCluster.Numerics;

namespace RnnCluster.Model.Cells;

/// <summary>Keras SimpleRNN: h = act(x K + h_prev R + b), act tanh or relu.</summary>
public sealed class SimpleRnnCell(int units, Activation activation, IMathKernels kernels) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 1;
    public int StateCount => 1;
    public bool HasRecurrentBias => false;
    public bool SharesInputGradient => true;
    public bool HasDirectStatePath => false;
    public int CacheWidth => 0;

    public void Forward(scoped in CellForward s)
    {
        var h = s.H;
        var gates = s.Gates;
        var rec = s.Recurrent;
        for (int i = 0; i < h.Length; i++) h[i] = gates[i] + rec[i];
        if (activation == Activation.Tanh) kernels.Tanh(h, h);
        else
            for (int i = 0; i < h.Length; i++) h[i] = MathF.Max(h[i], 0f);
    }

    public void Backward(scoped in CellBackward s)
    {
        var h = s.H;
        var dh = s.DH;
        var d = s.DInput;
        if (activation == Activation.Tanh)
            for (int i = 0; i < h.Length; i++) d[i] = dh[i] * (1f - h[i] * h[i]);
        else
            for (int i = 0; i < h.Length; i++) d[i] = h[i] > 0f ? dh[i] : 0f;
    }
}
