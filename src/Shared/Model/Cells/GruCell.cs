using RnnCluster.Numerics;

namespace RnnCluster.Model.Cells;

/// <summary>
/// Keras GRU with reset_after=True, gates z, r, h: mx = x K + b_in, mh = h_prev R + b_rec,
/// z = sig(mx_z + mh_z), r = sig(mx_r + mh_r), hh = tanh(mx_h + r * mh_h),
/// h = z h_prev + (1 - z) hh. Keeps z, r, hh and mh_h.
/// </summary>
public sealed class GruCell(int units, IMathKernels kernels) : IRecurrentCell
{
    public int Units { get; } = units;
    public int GateCount => 3;
    public int StateCount => 1;
    public bool HasRecurrentBias => true;
    public bool SharesInputGradient => false;
    public bool HasDirectStatePath => true;
    public int CacheWidth => Units;

    public void Forward(scoped in CellForward s)
    {
        int n = Units, g3 = 3 * n;
        var gates = s.Gates;
        var rec = s.Recurrent;
        var mhH = s.Cache;
        int rows = s.H.Length / n;
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g3, g3);
            var r = rec.Slice(b * g3, g3);
            for (int j = 0; j < 2 * n; j++) row[j] = 0.5f * (row[j] + r[j]);
            r.Slice(2 * n, n).CopyTo(mhH.Slice(b * n, n));
            var zr = row[..(2 * n)];
            kernels.Tanh(zr, zr);
            for (int j = 0; j < 2 * n; j++) row[j] = 0.5f * row[j] + 0.5f;
            for (int j = 0; j < n; j++) row[2 * n + j] += row[n + j] * r[2 * n + j];
            var hh = row.Slice(2 * n, n);
            kernels.Tanh(hh, hh);
        }
        var h = s.H;
        var hPrev = s.HPrev;
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g3, g3);
            int o = b * n;
            for (int j = 0; j < n; j++)
            {
                float z = row[j];
                h[o + j] = z * hPrev[o + j] + (1f - z) * row[2 * n + j];
            }
        }
    }

    public void Backward(scoped in CellBackward s)
    {
        int n = Units, g3 = 3 * n;
        int rows = s.DH.Length / n;
        var gates = s.Gates;
        var mhH = s.Cache;
        var hPrev = s.HPrev;
        var dh = s.DH;
        var dx = s.DInput;
        var dr = s.DRecurrent;
        var direct = s.DHPrevDirect;
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * g3, g3);
            var dxr = dx.Slice(b * g3, g3);
            var drr = dr.Slice(b * g3, g3);
            int o = b * n;
            for (int j = 0; j < n; j++)
            {
                float z = row[j], r = row[n + j], hh = row[2 * n + j];
                float dhj = dh[o + j];
                float dz = dhj * (hPrev[o + j] - hh) * z * (1f - z);
                float dhh = dhj * (1f - z) * (1f - hh * hh);
                float drg = dhh * mhH[o + j] * r * (1f - r);
                dxr[j] = dz;
                dxr[n + j] = drg;
                dxr[2 * n + j] = dhh;
                drr[j] = dz;
                drr[n + j] = drg;
                drr[2 * n + j] = dhh * r;
                direct[o + j] = dhj * z;
            }
        }
    }
}
