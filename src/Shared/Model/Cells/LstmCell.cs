using RnnCluster.Numerics;

namespace RnnCluster.Model.Cells;

/// <summary>
/// Keras LSTM, gates i, f, c (candidate g), o: z = x K + h_prev R + b,
/// c = sig(f) c_prev + sig(i) tanh(g), h = sig(o) tanh(c). Keeps the activated gates and tanh(c).
/// </summary>
public sealed class LstmCell(int units, IMathKernels kernels) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 4;
    public int StateCount => 2;
    public bool HasRecurrentBias => false;
    public bool SharesInputGradient => true;
    public bool HasDirectStatePath => false;
    public int CacheWidth => Units;

    public void Forward(scoped in CellForward s)
    {
        int n = Units, g4 = 4 * n;
        var gates = s.Gates;
        var rec = s.Recurrent;
        int rows = s.H.Length / n;
        // Sigmoid gates are computed as 0.5 tanh(z/2) + 0.5, so one tanh covers all four gates.
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g4, g4);
            var r = rec.Slice(b * g4, g4);
            for (int j = 0; j < 2 * n; j++) row[j] = 0.5f * (row[j] + r[j]);
            for (int j = 2 * n; j < 3 * n; j++) row[j] += r[j];
            for (int j = 3 * n; j < g4; j++) row[j] = 0.5f * (row[j] + r[j]);
        }
        kernels.Tanh(gates, gates);
        var c = s.C;
        var cPrev = s.CPrev;
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g4, g4);
            for (int j = 0; j < 2 * n; j++) row[j] = 0.5f * row[j] + 0.5f;
            for (int j = 3 * n; j < g4; j++) row[j] = 0.5f * row[j] + 0.5f;
            int o = b * n;
            for (int j = 0; j < n; j++)
                c[o + j] = row[n + j] * cPrev[o + j] + row[j] * row[2 * n + j];
        }
        var tanhC = s.Cache;
        kernels.Tanh(c, tanhC);
        var h = s.H;
        for (int b = 0; b < rows; b++)
        {
            var og = gates.Slice(b * g4 + 3 * n, n);
            int o = b * n;
            for (int j = 0; j < n; j++) h[o + j] = og[j] * tanhC[o + j];
        }
    }

    public void Backward(scoped in CellBackward s)
    {
        int n = Units, g4 = 4 * n;
        int rows = s.DH.Length / n;
        var gates = s.Gates;
        var tanhC = s.Cache;
        var cPrev = s.CPrev;
        var dh = s.DH;
        var dc = s.DC;
        var d = s.DInput;
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g4, g4);
            var drow = d.Slice(b * g4, g4);
            int o = b * n;
            for (int j = 0; j < n; j++)
            {
                float i = row[j], f = row[n + j], g = row[2 * n + j], og = row[3 * n + j];
                float tc = tanhC[o + j];
                float dhj = dh[o + j];
                float dct = dc[o + j] + dhj * og * (1f - tc * tc);
                drow[j] = dct * g * i * (1f - i);
                drow[n + j] = dct * cPrev[o + j] * f * (1f - f);
                drow[2 * n + j] = dct * i * (1f - g * g);
                drow[3 * n + j] = dhj * tc * og * (1f - og);
                dc[o + j] = dct * f;
            }
        }
    }
}
