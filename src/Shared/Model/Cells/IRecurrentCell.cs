namespace RnnCluster.Model.Cells;

/// <summary>
/// One timestep of one recurrent cell kind over a whole batch. The <see cref="Recurrent.Unroller"/>
/// owns the time loop and the GEMMs (the products per step, weight gradients over all timesteps
/// at once); a cell only does the element-wise part between them. Gates are laid out as Keras does: row b holds
/// [gate0 (H), gate1 (H), ...] for G = GateCount * H.
/// </summary>
public interface IRecurrentCell
{
    int Units { get; }

    /// <summary>Number of gate blocks: 1 (SimpleRNN), 4 (LSTM: i, f, c, o), 3 (GRU: z, r, h).</summary>
    int GateCount { get; }

    /// <summary>1 (h) or 2 (h, c).</summary>
    int StateCount { get; }

    /// <summary>GRU (reset_after): a second bias row added to the recurrent product.</summary>
    bool HasRecurrentBias { get; }

    /// <summary>
    /// True when the cell sees the input projection x K, the recurrent product h_prev R and its
    /// one bias row b only as their sum (SimpleRNN, LSTM): the unroller then computes the sum as
    /// one product [x, h_prev, 1] [K; R; b] and hands it over in <see cref="CellForward.Gates"/>,
    /// and the gradient with respect to all three is the same (<see cref="CellBackward.DInput"/>).
    /// False for GRU, whose reset gate multiplies the recurrent part alone.
    /// </summary>
    bool SumsProjections { get; }

    /// <summary>True when h_prev reaches h other than through the recurrent product (GRU's z * h_prev).</summary>
    bool HasDirectStatePath { get; }

    /// <summary>Extra per-row floats a step keeps for backpropagation (LSTM: tanh(c); GRU: the recurrent h-gate part).</summary>
    int CacheWidth { get; }

    void Forward(scoped in CellForward step);

    void Backward(scoped in CellBackward step);
}

/// <summary>Buffers of one forward step (B rows).</summary>
public readonly ref struct CellForward
{
    /// <summary>
    /// In: x K + h_prev R + b when the cell <see cref="IRecurrentCell.SumsProjections"/>, otherwise
    /// x K without bias (B x G). Out: whatever <see cref="IRecurrentCell.Backward"/> needs (activated gates).
    /// </summary>
    public Span<float> Gates { get; init; }

    /// <summary>h_prev R, B x G, when the cell does not sum the projections (empty otherwise); scratch the cell may overwrite.</summary>
    public Span<float> Recurrent { get; init; }

    /// <summary>The input bias (G), added to every row inside the cell's fused loop; empty when the cell sums the projections (the bias is in <see cref="Gates"/>).</summary>
    public ReadOnlySpan<float> InputBias { get; init; }

    /// <summary>The recurrent bias (G), GRU only.</summary>
    public ReadOnlySpan<float> RecurrentBias { get; init; }

    public ReadOnlySpan<float> HPrev { get; init; }

    public ReadOnlySpan<float> CPrev { get; init; }

    public Span<float> H { get; init; }

    public Span<float> C { get; init; }

    public Span<float> Cache { get; init; }
}

/// <summary>Buffers of one backward step (B rows).</summary>
public readonly ref struct CellBackward
{
    public ReadOnlySpan<float> Gates { get; init; }

    public ReadOnlySpan<float> Cache { get; init; }

    public ReadOnlySpan<float> HPrev { get; init; }

    public ReadOnlySpan<float> CPrev { get; init; }

    public ReadOnlySpan<float> H { get; init; }

    public ReadOnlySpan<float> C { get; init; }

    /// <summary>Total dL/dh of this step (from the output and from the next step).</summary>
    public ReadOnlySpan<float> DH { get; init; }

    /// <summary>In: dL/dc of this step from the next step. Out: dL/dc_prev (LSTM only).</summary>
    public Span<float> DC { get; init; }

    /// <summary>Out: dL/d(input projection), B x G.</summary>
    public Span<float> DInput { get; init; }

    /// <summary>Out: dL/d(recurrent product), B x G, when the cell does not share it with <see cref="DInput"/>.</summary>
    public Span<float> DRecurrent { get; init; }

    /// <summary>Out: the direct part of dL/dh_prev, B x H, when the cell has a direct state path.</summary>
    public Span<float> DHPrevDirect { get; init; }
}
