namespace RnnCluster.Model.Recurrent;

/// <summary>
/// Which (timestep, row) pairs of one recurrent layer's pass are processed, in processing order
/// (reversed for go_backwards), and the rules Keras applies to the others:
/// <list type="bullet">
/// <item>on a masked step a row's state (h, and c) keeps its previous value, so the final state
/// is the last unmasked one and leading masked steps pass the initial state through;</item>
/// <item>its output keeps the previous step's output, which before the row's first unmasked step
/// is zeros (Keras's <c>rnn()</c> starts the previous output at zeros, not at the initial state);</item>
/// <item>in backpropagation a masked step passes dL/dh and dL/dc straight to the previous step
/// and contributes nothing to the weight gradients.</item>
/// </list>
/// Per step it also keeps the smallest block of rows [First, End) that holds every unmasked row,
/// so the unroller runs its per-step products over that block only: rows masked as a block (the
/// padding of shorter rows, or leading padding) cost no GEMM work.
/// Allocated once per batch shape; <see cref="Load"/> refills it for each pass.
/// </summary>
internal sealed class StepMask
{
    private readonly int _units;

    public StepMask(int batch, int timesteps, int units)
    {
        Batch = batch;
        Timesteps = timesteps;
        _units = units;
        Keep = new float[batch * timesteps];
        Started = new bool[batch * timesteps];
        First = new int[timesteps];
        End = new int[timesteps];
        SavedDH = new float[batch * units];
        SavedDC = new float[batch * units];
    }

    public int Batch { get; }
    public int Timesteps { get; }

    /// <summary>1 where step t of row b (index t * B + b, processing order) is processed, 0 where masked.</summary>
    public float[] Keep { get; }

    /// <summary>True where row b has an unmasked step at or before t (processing order): its output there is a state, not zeros.</summary>
    public bool[] Started { get; }

    /// <summary>Per step: the block of rows [First, End) holding every unmasked row (First == End: none).</summary>
    public int[] First { get; }

    public int[] End { get; }

    /// <summary>True when some output position comes before its row's first unmasked step (its output is zeros).</summary>
    public bool HasUnstarted { get; private set; }

    // Backward: a masked row's dL/dh and dL/dc of a step, kept while the cell's step overwrites them.
    private float[] SavedDH { get; }
    private float[] SavedDC { get; }

    /// <summary>
    /// Fills the mask from the layer's input mask (time-major T*B, input order, nonzero = keep),
    /// reversing time when <paramref name="reverse"/> (go_backwards).
    /// </summary>
    public void Load(ReadOnlySpan<float> inputMask, bool reverse)
    {
        int b = Batch, t = Timesteps;
        for (int s = 0; s < t; s++)
        {
            var source = inputMask.Slice((reverse ? t - 1 - s : s) * b, b);
            var keep = Keep.AsSpan(s * b, b);
            int first = b, end = 0;
            for (int r = 0; r < b; r++)
            {
                bool on = source[r] != 0f;
                keep[r] = on ? 1f : 0f;
                if (on)
                {
                    if (first == b) first = r;
                    end = r + 1;
                }
            }
            First[s] = first < end ? first : 0;
            End[s] = first < end ? end : 0;
        }
        HasUnstarted = false;
        for (int r = 0; r < b; r++)
        {
            bool started = false;
            for (int s = 0; s < t; s++)
            {
                started |= Keep[s * b + r] != 0f;
                Started[s * b + r] = started;
                HasUnstarted |= !started;
            }
        }
    }

    /// <summary>The rows of [r0, r1) the step must compute: [a, a + m), m = 0 when the whole part is masked.</summary>
    public void Narrow(int s, int r0, int r1, out int a, out int m)
    {
        a = Math.Max(r0, First[s]);
        int e = Math.Min(r1, End[s]);
        m = Math.Max(0, e - a);
        if (m == 0) a = r0;
    }

    /// <summary>Forward, after the step: masked rows of [r0, r1) keep the previous state (<paramref name="prev"/> into <paramref name="next"/>, both rows r0..r1).</summary>
    public void HoldState(int s, int r0, int r1, ReadOnlySpan<float> prev, Span<float> next)
    {
        int h = _units;
        var keep = Keep.AsSpan(s * Batch, Batch);
        for (int r = r0; r < r1; r++)
            if (keep[r] == 0f) prev.Slice((r - r0) * h, h).CopyTo(next.Slice((r - r0) * h, h));
    }

    /// <summary>Backward, before the step: keeps the masked rows' dL/dh (total) and dL/dc (spans of rows r0..r1).</summary>
    public void SaveGradients(int s, int r0, int r1, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc)
    {
        int h = _units;
        var keep = Keep.AsSpan(s * Batch, Batch);
        for (int r = r0; r < r1; r++)
        {
            if (keep[r] != 0f) continue;
            dh.Slice((r - r0) * h, h).CopyTo(SavedDH.AsSpan(r * h, h));
            if (!dc.IsEmpty) dc.Slice((r - r0) * h, h).CopyTo(SavedDC.AsSpan(r * h, h));
        }
    }

    /// <summary>Backward, after the cell's step: masked rows' gate gradients become zeros (rows r0..r1 of one step, G wide each).</summary>
    public void ClearGateGradients(int s, int r0, int r1, Span<float> dz, int g)
    {
        var keep = Keep.AsSpan(s * Batch, Batch);
        for (int r = r0; r < r1; r++)
            if (keep[r] == 0f) dz.Slice((r - r0) * g, g).Clear();
    }

    /// <summary>Backward, after the step's product: masked rows pass the saved dL/dh and dL/dc on to the previous step.</summary>
    public void PassGradients(int s, int r0, int r1, Span<float> dhPrev, Span<float> dcPrev)
    {
        int h = _units;
        var keep = Keep.AsSpan(s * Batch, Batch);
        for (int r = r0; r < r1; r++)
        {
            if (keep[r] != 0f) continue;
            SavedDH.AsSpan(r * h, h).CopyTo(dhPrev.Slice((r - r0) * h, h));
            if (!dcPrev.IsEmpty) SavedDC.AsSpan(r * h, h).CopyTo(dcPrev.Slice((r - r0) * h, h));
        }
    }
}
