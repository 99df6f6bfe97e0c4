namespace RnnCluster.Model;

/// <summary>
/// Which output steps of a masked model count, from its input alone: the mask a model's first
/// layer (Keras Masking, or Embedding with mask_zero) computes from x reaches its output unchanged when the output is a
/// sequence (recurrent layers that return sequences pass their input mask on, Dense passes it
/// through), so the coordinator can weigh a global batch, or score predictions, without
/// running the model. Keras averages a masked sequence loss over the unmasked steps of the whole
/// batch; these helpers give that denominator for any set of rows.
/// </summary>
public static class SequenceMask
{
    /// <summary>
    /// 1 for each (row, step) of the output that counts and 0 for a masked one, batch-major
    /// (b * T + t); null when every step counts (no masking, no time axis, or nothing masked).
    /// </summary>
    public static float[]? OutputKeep(ModelSpec spec, ReadOnlySpan<float> x, int batch, int timesteps)
    {
        if (spec.InputMaskValue is not { } maskValue || !spec.OutputIsSequence) return null;
        int f = spec.InputFeatures;
        var keep = new float[batch * timesteps];
        bool any = false;
        for (int q = 0; q < keep.Length; q++)
        {
            bool on = false;
            foreach (var v in x.Slice(q * f, f))
                if (v != maskValue) { on = true; break; }
            keep[q] = on ? 1f : 0f;
            any |= !on;
        }
        return any ? keep : null;
    }

    /// <summary>
    /// The unmasked output steps of these rows (batch * timesteps when every step counts). Added
    /// over shards it gives the global batch's count exactly (an integer).
    /// </summary>
    public static long KeptSteps(ModelSpec spec, ReadOnlySpan<float> x, int batch, int timesteps)
    {
        var keep = OutputKeep(spec, x, batch, timesteps);
        if (keep is null) return (long)batch * timesteps;
        long kept = 0;
        foreach (var k in keep) kept += (long)k;
        return kept;
    }

    /// <summary>What a batch's loss sum is divided by (<see cref="Network.LossRows"/>): the rows, or the kept steps over T.</summary>
    public static double LossRows(ModelSpec spec, long keptSteps, int batch, int timesteps) =>
        spec.IsMasked && spec.OutputIsSequence && keptSteps != (long)batch * timesteps ? (double)keptSteps / timesteps : batch;
}
