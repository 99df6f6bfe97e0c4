using RnnCluster.Numerics;

namespace RnnCluster.Model;

/// <summary>A layer of a <see cref="Sequential"/> model, as the user declares it (Keras style).</summary>
public abstract class Layer
{
    private Sequential? _model;

    protected Layer(LayerSpec spec) => Spec = spec;

    public LayerSpec Spec { get; }

    public int Index { get; private set; }

    internal void Attach(Sequential model, int index)
    {
        if (_model is not null && _model != model) throw new ModelException("a layer object belongs to one model only");
        _model = model;
        Index = index;
    }

    private Sequential Model => _model ?? throw new ModelException("the layer is not part of a model");

    /// <summary>Keras reset_states(): this layer's states become zeros.</summary>
    public void ResetStates() => Model.ResetLayerStates(Index, null);

    /// <summary>Keras reset_states(states=...): h (and c for LSTM), each (batch, units).</summary>
    public void ResetStates(params Tensor[] states) => Model.ResetLayerStates(Index, states);

    /// <summary>The layer's current stateful states (h, then c), or null where they are zeros.</summary>
    public IReadOnlyList<Tensor?> States => Model.LayerStates(Index);
}

public sealed class SimpleRnn(int units, string activation = "tanh", bool returnSequences = false, bool goBackwards = false, bool stateful = false)
    : Layer(new LayerSpec { Kind = LayerKinds.SimpleRnn, Units = units, Activation = activation, ReturnSequences = returnSequences, GoBackwards = goBackwards, Stateful = stateful });

public sealed class Lstm(int units, bool returnSequences = false, bool goBackwards = false, bool stateful = false)
    : Layer(new LayerSpec { Kind = LayerKinds.Lstm, Units = units, ReturnSequences = returnSequences, GoBackwards = goBackwards, Stateful = stateful });

public sealed class Gru(int units, bool returnSequences = false, bool goBackwards = false, bool stateful = false)
    : Layer(new LayerSpec { Kind = LayerKinds.Gru, Units = units, ReturnSequences = returnSequences, GoBackwards = goBackwards, Stateful = stateful });

public sealed class Dense(int units, string activation = "linear")
    : Layer(new LayerSpec { Kind = LayerKinds.Dense, Units = units, Activation = activation });

/// <summary>Keras Embedding for token ids (one feature per timestep); <paramref name="maskZero"/> masks token 0's steps (first layer only).</summary>
public sealed class Embedding(int inputDim, int outputDim, bool maskZero = false)
    : Layer(new LayerSpec { Kind = LayerKinds.Embedding, InputDim = inputDim, OutputDim = outputDim, MaskZero = maskZero });

/// <summary>Keras Masking: timesteps whose features all equal <paramref name="maskValue"/> are skipped by the layers after it (first layer only).</summary>
public sealed class Masking(float maskValue = 0f)
    : Layer(new LayerSpec { Kind = LayerKinds.Masking, MaskValue = maskValue });

/// <summary>A layer built from a <see cref="LayerSpec"/> (for models read from JSON).</summary>
public sealed class SpecLayer(LayerSpec spec) : Layer(spec);

/// <summary>Outputs of a prediction and the states after its last timestep (aligned with <see cref="Network.StateSlots"/>).</summary>
public sealed record Prediction(Tensor Output, IReadOnlyList<Tensor> FinalStates);

/// <summary>Per-epoch training loss (and validation loss when asked for).</summary>
public sealed record History(IReadOnlyList<double> Loss, IReadOnlyList<double> ValidationLoss);

/// <summary>
/// Keras-like model: <c>new Sequential(new SimpleRnn(3), new Dense(1))</c>, <c>Compile</c>,
/// <c>Fit</c>, <c>TrainOnBatch</c>, <c>Predict</c>, weights by Keras name, stateful states.
/// State rules (as Keras): row i of one batch continues as row i of the next in stateful layers;
/// the batch size is then fixed; an explicit initial state wins over the carried one; a reset
/// means zeros unless values are given; no gradient crosses a batch boundary.
/// </summary>
public sealed class Sequential
{
    private readonly List<Layer> _layers;
    private Network? _network;
    private float[] _parameters = [];
    private float[] _gradients = [];
    private Tensor?[] _states = [];
    private int? _statefulBatch;
    private ILoss? _loss;
    private IOptimizer? _optimizer;

    public Sequential(params Layer[] layers) : this(null, layers) { }

    /// <summary>With explicit kernels (MKL or managed); by default the process's configured math.</summary>
    public Sequential(IMathKernels? kernels, params Layer[] layers)
    {
        if (layers.Length == 0) throw new ModelException("a Sequential model needs at least one layer");
        Kernels = kernels ?? MathBackend.Start(MathOptions.FromEnvironment());
        _layers = [.. layers];
        for (int i = 0; i < _layers.Count; i++) _layers[i].Attach(this, i);
    }

    /// <summary>A model from its JSON description (built, with fresh weights from <paramref name="seed"/>).</summary>
    public static Sequential FromSpec(ModelSpec spec, IMathKernels? kernels = null, int seed = 0)
    {
        var model = new Sequential(kernels, [.. spec.Layers.Select(l => new SpecLayer(l))]);
        model.Build(spec.InputFeatures, seed);
        return model;
    }

    public IMathKernels Kernels { get; }
    public IReadOnlyList<Layer> Layers => _layers;
    public int Seed { get; private set; }
    public bool IsBuilt => _network is not null;
    public Network Network => _network ?? throw new ModelException("the model is not built yet: call Build(inputFeatures) or Fit/Predict first");
    public ModelSpec Spec => Network.Spec;
    public ILoss? Loss => _loss;
    public IOptimizer? Optimizer => _optimizer;

    /// <summary>The flat parameter vector (read-only view); weights by name through <see cref="GetWeights"/>.</summary>
    public ReadOnlySpan<float> Parameters => _parameters;

    public bool IsStateful => _layers.Any(l => l.Spec.Stateful);

    /// <summary>Creates the weights for inputs of <paramref name="inputFeatures"/> features with Keras's initializers.</summary>
    public void Build(int inputFeatures, int seed = 0)
    {
        var spec = new ModelSpec { InputFeatures = inputFeatures, Layers = [.. _layers.Select(l => l.Spec)] };
        _network = new Network(spec, Kernels);
        Seed = seed;
        _parameters = Initializers.InitialParameters(_network, seed);
        _gradients = new float[_network.ParameterCount];
        _states = new Tensor?[_network.StateSlots.Count];
    }

    public void Compile(ILoss loss, IOptimizer optimizer)
    {
        _loss = loss;
        _optimizer = optimizer;
    }

    public void Compile(string loss, IOptimizer optimizer, bool fromLogits = false) => Compile(Losses.Parse(loss, fromLogits), optimizer);

    /// <summary>One gradient step on a batch; returns the batch's mean loss (before the update).</summary>
    public double TrainOnBatch(Tensor x, Tensor y, IReadOnlyList<Tensor?>? initialStates = null)
    {
        var (loss, optimizer) = RequireCompiled();
        var (batch, timesteps) = Prepare(x);
        Shapes.CheckTarget(Network, loss, y, batch, timesteps);
        var states = StatesFor(batch, initialStates);
        var computer = new GradientComputer(Network, loss);
        double lossSum = computer.Compute(_parameters, x.Data, y.Data, batch, timesteps, states, _gradients);
        CarryStates(batch);
        // Keras's mean: over the rows, or over the unmasked steps of a masked output sequence.
        double lossRows = Network.LossRows;
        Kernels.Scale(Network.InverseLossRows(lossRows, batch), _gradients);
        optimizer.Step(_parameters, _gradients);
        return lossRows > 0 ? lossSum / lossRows : 0;
    }

    /// <summary>Loss and gradients of a batch without updating anything: gradient sums divided by the batch size.</summary>
    public BatchGradients ComputeGradients(Tensor x, Tensor y, IReadOnlyList<Tensor?>? initialStates = null)
    {
        var (loss, _) = RequireCompiled();
        var (batch, timesteps) = Prepare(x);
        Shapes.CheckTarget(Network, loss, y, batch, timesteps);
        return new GradientComputer(Network, loss).ComputeAll(_parameters, x, y, StatesFor(batch, initialStates));
    }

    /// <summary>Outputs and final states; in stateful layers the states carry on, as in Keras.</summary>
    public Prediction Predict(Tensor x, IReadOnlyList<Tensor?>? initialStates = null)
    {
        var (batch, timesteps) = Prepare(x);
        Network.Forward(_parameters, x.Data, batch, timesteps, StatesFor(batch, initialStates));
        var output = Tensor.Zeros(Network.PredictionShape(batch, timesteps));
        Network.CopyPrediction(output.Data);
        var finals = FinalStates(batch);
        CarryStates(batch);
        return new Prediction(output, finals);
    }

    /// <summary>Mean loss over x, in batches, from zero (or given) initial states; changes no state.</summary>
    public double Evaluate(Tensor x, Tensor y, int batchSize = 32, IReadOnlyList<Tensor>? initialStates = null)
    {
        var (loss, _) = RequireCompiled();
        if (batchSize < 1) throw new ModelException($"batch size must be at least 1, got {batchSize}");
        var (rows, timesteps) = Prepare(x);
        Shapes.CheckTarget(Network, loss, y, rows, timesteps);
        CheckRowStates(initialStates, rows);
        double total = 0, lossRows = 0;
        int xRow = timesteps * Spec.InputFeatures, yRow = y.Length / rows;
        for (int start = 0; start < rows; start += batchSize)
        {
            int b = Math.Min(batchSize, rows - start);
            var states = initialStates?.Select(s => (Tensor?)Rows.Slice(s, start, b)).ToList();
            Network.Forward(_parameters, x.Data.AsSpan(start * xRow, b * xRow), b, timesteps, states);
            total += Network.Loss(loss, y.Data.AsSpan(start * yRow, b * yRow));
            lossRows += Network.LossRows;
        }
        return lossRows > 0 ? total / lossRows : 0;
    }

    /// <summary>
    /// Keras fit: epochs of batches (shuffled unless stateful), the last fraction of the rows held
    /// out for validation, optionally resetting stateful states at each epoch's end.
    /// <paramref name="initialStates"/>: per-row initial states, one (rows, units) tensor per state
    /// slot, gathered with each batch (Keras's initial_state fed as data).
    /// <paramref name="checkpoint"/>: checkpoints in a folder, as <c>rnncluster train --checkpoint-dir</c>
    /// writes them; a later Fit of the same model, arguments and data continues from the newest one
    /// and ends with the same weights, bit for bit, as an uninterrupted Fit (see <see cref="FitCheckpoints"/>).
    /// </summary>
    public History Fit(Tensor x, Tensor y, int batchSize = 32, int epochs = 1, bool? shuffle = null,
        double validationSplit = 0, bool resetStatesEachEpoch = false, Action<int, double>? onEpoch = null,
        IReadOnlyList<Tensor>? initialStates = null, Checkpoints.FitCheckpoint? checkpoint = null)
    {
        var (loss, _) = RequireCompiled();
        var (rows, timesteps) = Prepare(x);
        Shapes.CheckTarget(Network, loss, y, rows, timesteps);
        CheckRowStates(initialStates, rows);
        if (validationSplit is not (>= 0 and < 1)) throw new ModelException($"validation split must be in [0, 1), got {validationSplit}");
        var (trainRows, validationRows) = ValidationSplit.Of(rows, validationSplit);
        if (trainRows < 1) throw new ModelException($"validation split {validationSplit} leaves no training rows of {rows}");
        var plan = new BatchPlan(trainRows, batchSize, shuffle ?? !IsStateful, IsStateful, Seed);
        var (trainX, trainY) = (Rows.Slice(x, 0, trainRows), Rows.Slice(y, 0, trainRows));
        var (valX, valY) = validationRows > 0 ? (Rows.Slice(x, trainRows, validationRows), Rows.Slice(y, trainRows, validationRows)) : (null, null);

        var losses = new List<double>();
        var validation = new List<double>();
        var batchX = new Dictionary<int, (Tensor X, Tensor Y)>();
        var checkpoints = checkpoint is null ? null
            : new Checkpoints.FitCheckpoints(this, checkpoint, x, y, initialStates, batchSize, $"{batchSize} {epochs} {plan.Shuffle} {validationSplit:R} {resetStatesEachEpoch}");
        var (startEpoch, startBatch, resumedSum) = checkpoints?.Resume(losses, validation) ?? (0, 0, 0.0);
        for (int epoch = startEpoch; epoch < epochs; epoch++)
        {
            var order = plan.Order(epoch);
            double sum = epoch == startEpoch ? resumedSum : 0;
            for (int i = epoch == startEpoch ? startBatch : 0; i < plan.BatchesPerEpoch; i++)
            {
                var batchRows = plan.Batch(order, i);
                if (!batchX.TryGetValue(batchRows.Length, out var buffers))
                    batchX[batchRows.Length] = buffers = (Rows.Empty(trainX, batchRows.Length), Rows.Empty(trainY, batchRows.Length));
                Rows.Gather(trainX, batchRows, buffers.X);
                Rows.Gather(trainY, batchRows, buffers.Y);
                Tensor?[]? states = null;
                if (initialStates is not null)
                {
                    states = new Tensor?[initialStates.Count];
                    for (int k = 0; k < states.Length; k++)
                    {
                        states[k] = Rows.Empty(initialStates[k], batchRows.Length);
                        Rows.Gather(initialStates[k], batchRows, states[k]!);
                    }
                }
                sum += TrainOnBatch(buffers.X, buffers.Y, states) * batchRows.Length;
                checkpoints?.AfterStep(epoch, i + 1, sum, Math.Min((i + 1) * batchSize, trainRows), losses, validation);
            }
            losses.Add(sum / trainRows);
            if (valX is not null && valY is not null)
                validation.Add(Evaluate(valX, valY, batchSize, initialStates?.Select(s => Rows.Slice(s, trainRows, validationRows)).ToList()));
            if (resetStatesEachEpoch) ResetStates();
            checkpoints?.AfterEpoch(epoch + 1, epochs, losses, validation);
            onEpoch?.Invoke(epoch, losses[^1]);
        }
        return new History(losses, validation);
    }

    /// <summary>All stateful states to zeros.</summary>
    public void ResetStates() => Array.Clear(_states);

    /// <summary>All states to the given values, one per state slot (h, and c for LSTM, layer by layer).</summary>
    public void ResetStates(IReadOnlyList<Tensor> states)
    {
        if (states.Count != Network.StateSlots.Count)
            throw new ModelException($"reset_states: expected {Network.StateSlots.Count} state tensors, got {states.Count}");
        for (int k = 0; k < states.Count; k++) SetState(k, states[k]);
    }

    internal void ResetLayerStates(int layerIndex, Tensor[]? states)
    {
        var slots = SlotsOf(layerIndex);
        if (states is not null && states.Length != slots.Count)
            throw new ModelException($"layer {layerIndex} has {slots.Count} state(s); got {states.Length}");
        for (int i = 0; i < slots.Count; i++)
        {
            if (states is null) _states[slots[i]] = null;
            else SetState(slots[i], states[i]);
        }
    }

    internal IReadOnlyList<Tensor?> LayerStates(int layerIndex) => [.. SlotsOf(layerIndex).Select(k => _states[k])];

    /// <summary>Every state slot's carried state (null: zeros), for checkpoints.</summary>
    internal IReadOnlyList<Tensor?> CarriedStates => _states;

    /// <summary>Restores carried states taken with <see cref="CarriedStates"/> (a checkpoint) for a stateful batch of <paramref name="batch"/>.</summary>
    internal void RestoreCarriedStates(IReadOnlyList<Tensor?> states, int batch)
    {
        if (states.Count != _states.Length) throw new ModelException($"expected {_states.Length} carried states, got {states.Count}");
        _statefulBatch = batch;
        for (int k = 0; k < _states.Length; k++) _states[k] = states[k]?.Clone();
    }

    /// <summary>Weights by Keras name and shape, in layer order.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> GetWeights() => NamedWeights.FromFlat(Network, _parameters);

    /// <summary>Sets weights by name; every weight must be given, with its exact shape.</summary>
    public void SetWeights(IEnumerable<KeyValuePair<string, Tensor>> weights) => _parameters = NamedWeights.ToFlat(Network, weights);

    /// <summary>Replaces the whole parameter vector (as the coordinator sends it).</summary>
    public void SetParameters(ReadOnlySpan<float> parameters)
    {
        if (parameters.Length != Network.ParameterCount)
            throw new ModelException($"parameter vector has {parameters.Length} values; this model has {Network.ParameterCount}");
        parameters.CopyTo(_parameters);
    }

    private (int Batch, int Timesteps) Prepare(Tensor x)
    {
        if (x.Rank != 3) throw new ModelException($"x has shape {Tensor.FormatShape(x.Shape)}; expected (batch, timesteps, features)");
        if (!IsBuilt) Build(x.Shape[2], Seed);
        return Shapes.CheckInput(Spec, x);
    }

    /// <summary>Per-row initial states: one (rows, units) tensor per state slot.</summary>
    private void CheckRowStates(IReadOnlyList<Tensor>? states, int rows)
    {
        if (states is null) return;
        if (states.Count != Network.StateSlots.Count)
            throw new ModelException($"expected {Network.StateSlots.Count} per-row initial state tensors, got {states.Count}");
        for (int k = 0; k < states.Count; k++)
        {
            var slot = Network.StateSlots[k];
            if (!states[k].ShapeEquals(rows, slot.Units))
                throw new ModelException($"initial states {Network.StateName(slot)} have shape {Tensor.FormatShape(states[k].Shape)}; expected ({rows}, {slot.Units})");
        }
    }

    private (ILoss, IOptimizer) RequireCompiled() =>
        (_loss ?? throw new ModelException("the model is not compiled: call Compile(loss, optimizer) first"), _optimizer!);

    /// <summary>The states a batch starts from (<see cref="InitialStatePolicy"/>); a stateful model keeps its first batch size.</summary>
    private IReadOnlyList<Tensor?>? StatesFor(int batch, IReadOnlyList<Tensor?>? explicitStates)
    {
        if (IsStateful)
        {
            _statefulBatch ??= batch;
            if (_statefulBatch != batch)
                throw new ModelException($"stateful model has a fixed batch size of {_statefulBatch}; got a batch of {batch}");
        }
        return InitialStatePolicy.Choose(explicitStates, _states, k => _layers[Network.StateSlots[k].LayerIndex].Spec.Stateful);
    }

    private void CarryStates(int batch)
    {
        for (int k = 0; k < _states.Length; k++)
        {
            var slot = Network.StateSlots[k];
            if (!_layers[slot.LayerIndex].Spec.Stateful) continue;
            var t = _states[k] ??= Tensor.Zeros(batch, slot.Units);
            Network.FinalState(k).CopyTo(t.Data);
        }
    }

    private Tensor[] FinalStates(int batch) =>
        [.. Network.StateSlots.Select((s, k) => new Tensor(Network.FinalState(k).ToArray(), batch, s.Units))];

    private void SetState(int k, Tensor value)
    {
        var slot = Network.StateSlots[k];
        int batch = _statefulBatch ?? value.Shape.FirstOrDefault();
        if (!value.ShapeEquals(batch, slot.Units))
            throw new ModelException($"state {Network.StateName(slot)} has shape {Tensor.FormatShape(value.Shape)}; expected ({batch}, {slot.Units})");
        _statefulBatch ??= batch;
        _states[k] = value.Clone();
    }

    private List<int> SlotsOf(int layerIndex)
    {
        var slots = Network.StateSlots.Select((s, k) => (s, k)).Where(p => p.s.LayerIndex == layerIndex).Select(p => p.k).ToList();
        if (slots.Count == 0) throw new ModelException($"layer {layerIndex} ({_layers[layerIndex].Spec.Kind}) has no states");
        return slots;
    }
}

/// <summary>Row (first-axis) operations on tensors.</summary>
public static class Rows
{
    public static int RowLength(Tensor t) => t.Shape[0] == 0 ? 0 : t.Length / t.Shape[0];

    public static Tensor Slice(Tensor t, int start, int count)
    {
        int row = RowLength(t);
        var shape = (int[])t.Shape.Clone();
        shape[0] = count;
        return new Tensor(t.Data.AsSpan(start * row, count * row).ToArray(), shape);
    }

    public static Tensor Empty(Tensor like, int rows)
    {
        var shape = (int[])like.Shape.Clone();
        shape[0] = rows;
        return Tensor.Zeros(shape);
    }

    public static void Gather(Tensor source, ReadOnlySpan<int> rows, Tensor target)
    {
        int row = RowLength(source);
        for (int i = 0; i < rows.Length; i++)
            source.Data.AsSpan(rows[i] * row, row).CopyTo(target.Data.AsSpan(i * row, row));
    }
}
