namespace RnnCluster.Model;

/// <summary>
/// Where a batch's initial states come from, as Keras's RNN docstring states the rules; the one
/// place the model (<see cref="Network.Forward"/>, <see cref="Sequential"/>) and the coordinator's
/// state table apply them:
/// <list type="number">
/// <item>an explicit initial state wins (an explicit list is taken whole: a null entry is zeros);</item>
/// <item>otherwise a stateful layer starts from the state its row carried out of the previous batch
/// (row i continues as row i; no gradient crosses the boundary);</item>
/// <item>everything else starts from zeros;</item>
/// <item>a reset sets a carried state to zeros unless values are given.</item>
/// </list>
/// </summary>
public static class InitialStatePolicy
{
    /// <summary>
    /// The states a batch starts from, one per state slot (null: all zeros): <paramref name="explicitStates"/>
    /// when given, else the carried state of each slot whose layer is stateful and zeros for the others.
    /// </summary>
    public static IReadOnlyList<Tensor?>? Choose(IReadOnlyList<Tensor?>? explicitStates, IReadOnlyList<Tensor?> carried, Func<int, bool> slotIsStateful)
    {
        if (explicitStates is not null) return explicitStates;
        bool any = false;
        for (int k = 0; k < carried.Count && !any; k++) any = slotIsStateful(k);
        if (!any) return null;
        var states = new Tensor?[carried.Count];
        for (int k = 0; k < states.Length; k++) states[k] = slotIsStateful(k) ? carried[k] : null;
        return states;
    }

    /// <summary>
    /// Writes the state a slot starts from (or is reset to) into <paramref name="target"/>: the values
    /// from <paramref name="values"/> at <paramref name="offset"/>, or zeros when no values are given.
    /// </summary>
    public static void Write(Span<float> target, float[]? values, int offset = 0)
    {
        if (values is null) target.Clear();
        else values.AsSpan(offset, target.Length).CopyTo(target);
    }
}
