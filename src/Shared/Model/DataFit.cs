using System.Globalization;
using RnnCluster.Numerics;

namespace RnnCluster.Model;

/// <summary>Whether a data set (x, y, initial states) fits a model, checked before anything trains on it.</summary>
public static class DataFit
{
    /// <summary>
    /// Checks data fits a model: its loss and its initial states: feature count, y's shape,
    /// class indices for sparse losses, and, when the states come from the data
    /// (<paramref name="initialStates"/> not null), one (N, units) initial state per state slot.
    /// </summary>
    /// <param name="dataName">How messages name the data (e.g. "digits.csv: 1797 sequences ...").</param>
    /// <exception cref="ModelException">The data does not fit (the message names the shapes).</exception>
    public static void Check(ModelSpec model, ILoss loss, Tensor x, Tensor y, IReadOnlyList<Tensor>? initialStates, string dataName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        if (x.Rank != 3)
            throw new ModelException($"x has shape {Tensor.FormatShape(x.Shape)}; expected (samples, timesteps, features)");
        int n = x.Shape[0], t = x.Shape[1], features = x.Shape[2];
        if (features != model.InputFeatures)
            throw new ModelException($"the data has {features} feature(s) per timestep (x {Tensor.FormatShape(x.Shape)}) but the model expects {model.InputFeatures} (input_features)");
        var network = new Network(model, new ManagedKernels());

        var expected = network.TargetShape(loss, n, t);
        int expectedLength = expected.Aggregate(1, (a, b) => a * b);
        bool classIndicesWithoutAxis = expected[^1] == 1 && y.Length == expectedLength && y.Rank >= 1 && y.Shape[0] == n;
        if (!y.ShapeEquals(expected) && !classIndicesWithoutAxis)
        {
            string hint = "";
            if (model.OutputIsSequence && y.Rank == 2)
                hint = " (the last recurrent layer returns sequences; set return_sequences to false to predict one vector per sequence)";
            else if (!model.OutputIsSequence && y.Rank == 3)
                hint = " (y has a vector per timestep; set return_sequences to true on the last recurrent layer)";
            else if (loss is SparseCategoricalCrossentropy)
                hint = " (class indices, one per prediction)";
            else if (y.Rank >= 2 && y.Shape[^1] == 1 && model.OutputWidth > 1 && loss is CategoricalCrossentropy)
                hint = " (y holds class indices: use sparse_categorical_crossentropy)";
            throw new ModelException($"y has shape {Tensor.FormatShape(y.Shape)} but the model's output ({model.OutputWidth} unit(s)) with loss {loss.Name} needs {Tensor.FormatShape(expected)}{hint}");
        }

        if (loss is SparseCategoricalCrossentropy)
        {
            int classes = model.OutputWidth;
            for (int i = 0; i < y.Length; i++)
            {
                float label = y.Data[i];
                if (label != MathF.Floor(label) || label < 0 || label >= classes)
                    throw new ModelException($"y row {i / (y.Length / n)}: label {label.ToString(CultureInfo.InvariantCulture)} is not a class index in [0, {classes}) for the model's {classes} output unit(s)");
            }
        }

        if (initialStates is null) return;
        var slots = network.StateSlots;
        string Expected() => string.Join(", ", slots.Select(s => $"{network.StateName(s)} ({n}, {s.Units})"));
        if (slots.Count == 0)
            throw new ModelException("state policy from_data: the model has no recurrent state to initialise");
        if (initialStates.Count == 0)
            throw new ModelException($"state policy from_data needs initial states in the data, but {dataName} has none (expected {Expected()}; npz keys initial_state0 .. initial_state{slots.Count - 1})");
        if (initialStates.Count != slots.Count)
            throw new ModelException($"state policy from_data: the data has {initialStates.Count} initial state tensor(s) but the model has {slots.Count} state slot(s): {Expected()}");
        for (int k = 0; k < slots.Count; k++)
        {
            var s = initialStates[k];
            if (!s.ShapeEquals(n, slots[k].Units))
                throw new ModelException($"state policy from_data: initial state {k} has shape {Tensor.FormatShape(s.Shape)}; the model's {network.StateName(slots[k])} needs ({n}, {slots[k].Units})");
        }
    }
}
