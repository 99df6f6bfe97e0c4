namespace RnnCluster.Model.Recurrent;

/// <summary>Every buffer one recurrent layer needs for one batch shape; reused step after step.</summary>
internal sealed class UnrollBuffers
{
    public UnrollBuffers(int batch, int timesteps, int inputWidth, int units, int gateWidth, int stateCount,
        int cacheWidth, bool stacked, bool goBackwards)
    {
        Batch = batch;
        Timesteps = timesteps;
        int rows = batch * timesteps;
        Gates = new float[rows * gateWidth];
        Hs = new float[(timesteps + 1) * batch * units];
        Cs = stateCount > 1 ? new float[(timesteps + 1) * batch * units] : [];
        Cache = new float[rows * cacheWidth];
        Stacked = stacked ? new float[rows * (inputWidth + units + 1)] : [];
        // The ones column of [x, h_prev, 1]: set once, never overwritten (the passes write x and h_prev only).
        for (int i = inputWidth + units; i < Stacked.Length; i += inputWidth + units + 1) Stacked[i] = 1f;
        Recurrent = stacked ? [] : new float[batch * gateWidth];
        DInput = new float[rows * gateWidth];
        DRecurrent = stacked ? [] : new float[rows * gateWidth];
        DHCarry = new float[batch * units];
        DCCarry = new float[batch * units];
        DHStep = new float[batch * units];
        Direct = new float[batch * units];
        Ones = stacked ? [] : new float[batch];
        Array.Fill(Ones, 1f);
        BiasSums = stacked ? [] : new float[2 * 2 * gateWidth];
        ReversedInput = goBackwards ? new float[rows * inputWidth] : [];
        ReversedInputGrad = goBackwards ? new float[rows * inputWidth] : [];
    }

    public int Batch { get; }
    public int Timesteps { get; }

    /// <summary>Per step: the cell's pre-activations in (with the bias for stacked cells), whatever its backward step needs out.</summary>
    public float[] Gates { get; }

    /// <summary>h for slot 0 (initial) .. T (final), each B x H, processing order.</summary>
    public float[] Hs { get; }

    /// <summary>c like <see cref="Hs"/> (LSTM only).</summary>
    public float[] Cs { get; }

    public float[] Cache { get; }

    /// <summary>Stacked cells: row t * B + b is [x_t, h_(t-1), 1] of batch row b (T*B x (F + H + 1)).</summary>
    public float[] Stacked { get; }

    /// <summary>Other cells: one step's h_prev R (B x G).</summary>
    public float[] Recurrent { get; }
    public float[] DInput { get; }
    public float[] DRecurrent { get; }
    public float[] DHCarry { get; }
    public float[] DCCarry { get; }
    public float[] DHStep { get; }
    public float[] Direct { get; }
    /// <summary>Other cells: a row of ones for the bias-gradient sums (stacked cells get theirs from the ones column).</summary>
    public float[] Ones { get; }

    /// <summary>Other cells: per part of a split pass, the sums of dL/d(input projection) and dL/d(recurrent product) over its rows (2 x 2G).</summary>
    public float[] BiasSums { get; }

    /// <summary>Two-thread passes: the second part's weight-gradient sums (allocated on the first split pass).</summary>
    public float[] SplitScratch { get; private set; } = [];

    public void EnsureSplitScratch(int length)
    {
        if (SplitScratch.Length < length) SplitScratch = new float[length];
    }

    /// <summary>go_backwards: the layer's input in processing order, and its gradient.</summary>
    public float[] ReversedInput { get; }
    public float[] ReversedInputGrad { get; }
}
