using RnnCluster.Model;

namespace RnnCluster.Coordinator.Actors;

/// <summary>
/// Stateful training's per-row states, owned by the coordinator: row i's final states after a
/// step are row i's initial states at the next, whichever worker computed the row and however
/// many workers there are. One (batch, units) block per state slot; resets follow
/// <see cref="InitialStatePolicy"/> (zeros unless values are given).
/// </summary>
public sealed class StateTable
{
    private readonly float[][] _slots;
    private readonly IReadOnlyList<StateSlot> _layout;

    public StateTable(IReadOnlyList<StateSlot> layout, int batch)
    {
        _layout = layout;
        Batch = batch;
        _slots = [.. layout.Select(s => new float[batch * s.Units])];
    }

    public int Batch { get; }

    /// <summary>Initial states for rows [range): copied into <paramref name="targets"/>, one (range.Count, units) tensor per slot.</summary>
    public void CopyTo(RowRange range, IReadOnlyList<Tensor> targets)
    {
        if (targets.Count != _slots.Length) throw new ArgumentException($"expected {_slots.Length} state tensors, got {targets.Count}", nameof(targets));
        for (int k = 0; k < _slots.Length; k++)
        {
            int units = _layout[k].Units;
            if (!targets[k].ShapeEquals(range.Count, units))
                throw new ArgumentException($"state {k} has shape {Tensor.FormatShape(targets[k].Shape)}; expected ({range.Count}, {units})", nameof(targets));
            _slots[k].AsSpan(range.Start * units, range.Count * units).CopyTo(targets[k].Data);
        }
    }

    /// <summary>Why a shard's final states for rows [range) cannot be stored, or null when they fit.</summary>
    public string? Problem(RowRange range, IReadOnlyList<Tensor> finalStates)
    {
        if (finalStates.Count != _slots.Length)
            return $"a shard returned {finalStates.Count} states; the model has {_slots.Length}";
        for (int k = 0; k < _slots.Length; k++)
        {
            int units = _layout[k].Units;
            if (!finalStates[k].ShapeEquals(range.Count, units))
                return $"a shard returned state {k} of shape {Tensor.FormatShape(finalStates[k].Shape)}; expected ({range.Count}, {units})";
        }
        return null;
    }

    /// <summary>Stores a shard's final states for rows [range).</summary>
    public void Store(RowRange range, IReadOnlyList<Tensor> finalStates)
    {
        if (Problem(range, finalStates) is { } problem) throw new InvalidOperationException(problem);
        for (int k = 0; k < _slots.Length; k++)
            finalStates[k].Data.CopyTo(_slots[k], range.Start * _layout[k].Units);
    }

    /// <summary>
    /// Resets states: of one layer or all (<paramref name="layer"/> null), of the listed rows or all;
    /// to zeros or to <paramref name="values"/> (one tensor per state of the selected layers, (rows, units)).
    /// </summary>
    public void Reset(int? layer, IReadOnlyList<int>? rows, IReadOnlyList<Tensor>? values)
    {
        var slots = Enumerable.Range(0, _slots.Length).Where(k => layer is null || _layout[k].LayerIndex == layer).ToList();
        if (slots.Count == 0) throw new ArgumentException($"layer {layer} has no recurrent states");
        var rowList = rows ?? Enumerable.Range(0, Batch).ToList();
        foreach (var r in rowList)
            if (r < 0 || r >= Batch) throw new ArgumentException($"row {r} is outside the batch [0, {Batch})");
        if (values is not null && values.Count != slots.Count)
            throw new ArgumentException($"expected {slots.Count} state tensors for the selected layer(s), got {values.Count}");
        for (int i = 0; i < slots.Count; i++)
        {
            int k = slots[i], units = _layout[k].Units;
            var value = values?[i];
            if (value is not null && !value.ShapeEquals(rowList.Count, units))
                throw new ArgumentException($"state for layer {_layout[k].LayerIndex} (state {_layout[k].StateIndex}) has shape {Tensor.FormatShape(value.Shape)}; expected ({rowList.Count}, {units})");
            for (int j = 0; j < rowList.Count; j++)
                InitialStatePolicy.Write(_slots[k].AsSpan(rowList[j] * units, units), value?.Data, j * units);
        }
    }

    public ReadOnlySpan<float> Slot(int k) => _slots[k];
}
