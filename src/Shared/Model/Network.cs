using System.Runtime.CompilerServices;
using RnnCluster.Numerics;

namespace RnnCluster.Model;

/// <summary>
/// A built model: its layers, the layout of its flat parameter vector (Keras names and shapes),
/// and the forward and backward passes over caller-given parameters. Buffers are allocated once
/// per batch shape and reused, so a training step allocates nothing after the first.
/// Not thread-safe: one network per worker.
/// </summary>
public sealed class Network
{
    private readonly RuntimeLayer[] _layers;
    private readonly bool _outputIsSequence;
    private NetworkBuffers? _buffers;
    private NetworkBuffers? _otherShapeBuffers;

    public Network(ModelSpec spec, IMathKernels kernels)
    {
        spec.Validate();
        Spec = spec;
        Kernels = kernels;
        int offset = 0, width = spec.InputFeatures;
        bool sequence = true;
        var layers = new List<RuntimeLayer>();
        var slots = new List<StateSlot>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            RuntimeLayer layer = l.IsRecurrent
                ? new RecurrentLayer(i, l, spec.LayerName(i), width, ref offset, kernels)
                : l.Kind switch
                {
                    LayerKinds.Masking => new MaskingLayer(i, l, width),
                    LayerKinds.Embedding => new EmbeddingLayer(i, l, spec.LayerName(i), width, ref offset),
                    _ => new DenseLayer(i, l, spec.LayerName(i), width, sequence, ref offset, kernels),
                };
            if (layer is RecurrentLayer r)
                for (int s = 0; s < r.Cell.StateCount; s++) slots.Add(new StateSlot(i, s, l.Units));
            layers.Add(layer);
            width = layer.OutputWidth;
            sequence = layer.OutputIsSequence;
        }
        _layers = [.. layers];
        // Cached: ModelSpec computes it by enumerating its layers (an allocation per call).
        _outputIsSequence = spec.OutputIsSequence;
        ParameterCount = offset;
        Weights = [.. _layers.SelectMany(l => l.Weights)];
        StateSlots = slots;
    }

    public ModelSpec Spec { get; }
    public IMathKernels Kernels { get; }
    public int ParameterCount { get; }
    public IReadOnlyList<WeightInfo> Weights { get; }

    /// <summary>Every recurrent state of the model in layer order: (layer, 0) = h, (layer, 1) = c.</summary>
    public IReadOnlyList<StateSlot> StateSlots { get; }

    internal IReadOnlyList<RuntimeLayer> Layers => _layers;

    public int Batch => _buffers?.Batch ?? 0;
    public int Timesteps => _buffers?.Timesteps ?? 0;

    /// <summary>Shape of the prediction for a batch: (B, T, O) or (B, O).</summary>
    public int[] PredictionShape(int batch, int timesteps) =>
        Spec.OutputIsSequence ? [batch, timesteps, Spec.OutputWidth] : [batch, Spec.OutputWidth];

    /// <summary>Shape of the targets a loss expects for a batch.</summary>
    public int[] TargetShape(ILoss loss, int batch, int timesteps)
    {
        int w = loss.TargetWidth(Spec.OutputWidth);
        return Spec.OutputIsSequence ? [batch, timesteps, w] : [batch, w];
    }

    /// <summary>
    /// Runs the model on x (B x T x D, batch-major). <paramref name="initialStates"/> is aligned
    /// with <see cref="StateSlots"/>; a null list or a null entry means zeros (<see cref="InitialStatePolicy"/>).
    /// </summary>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, int batch, int timesteps,
        IReadOnlyList<Tensor?>? initialStates)
    {
        CheckParameters(parameters.Length);
        if (batch < 1 || timesteps < 1) throw new ModelException($"a batch needs at least one row and one timestep, got B={batch}, T={timesteps}");
        int d = Spec.InputFeatures;
        if (x.Length != (long)batch * timesteps * d)
            throw new ModelException($"x holds {x.Length} values; expected shape (B={batch}, T={timesteps}, D={d}) = {(long)batch * timesteps * d}");
        if (initialStates is not null && initialStates.Count != StateSlots.Count)
            throw new ModelException($"expected {StateSlots.Count} initial state tensors (one per layer state), got {initialStates.Count}");

        var buf = BuffersFor(batch, timesteps);
        TimeMajor.FromBatchMajor(x, buf.Input, batch, timesteps, d);
        for (int k = 0; k < StateSlots.Count; k++)
        {
            var slot = StateSlots[k];
            var target = ((RecurrentLayer.Buffers)buf.Layers[slot.LayerIndex]).State(slot.StateIndex, final: false);
            var given = initialStates?[k];
            // Not ShapeEquals(params int[]): no allocation per state per step.
            if (given is not null && (given.Shape.Length != 2 || given.Shape[0] != batch || given.Shape[1] != slot.Units))
                throw new ModelException($"initial state {StateName(slot)} has shape {Tensor.FormatShape(given.Shape)}; expected ({batch}, {slot.Units})");
            InitialStatePolicy.Write(target, given?.Data);
        }

        ReadOnlySpan<float> input = buf.Input;
        float[]? mask = null;
        for (int i = 0; i < _layers.Length; i++)
        {
            // Keras's mask propagation: each layer gets the mask its predecessor computed.
            buf.Layers[i].InputMask = mask;
            _layers[i].Forward(parameters, input, buf.Layers[i]);
            input = buf.Layers[i].Output;
            mask = buf.Layers[i].OutputMask;
        }
    }

    /// <summary>
    /// After <see cref="Forward"/>: the mask of the output's timesteps (T*B, time-major, 1 = kept),
    /// or null when the output has no time axis or nothing is masked.
    /// </summary>
    internal float[]? OutputMask => _outputIsSequence ? RequireBuffers().Layers[^1].OutputMask : null;

    /// <summary>
    /// After <see cref="Forward"/>: what <see cref="Loss"/>'s sum is divided by for Keras's mean:
    /// the batch size, or, when the output sequence is masked, the number of unmasked timesteps
    /// over T (Keras averages over the unmasked steps of the whole batch). For a sharded batch
    /// the shards' values add up to the global one.
    /// </summary>
    public double LossRows
    {
        get
        {
            var buf = RequireBuffers();
            if (OutputMask is not { } mask) return buf.Batch;
            double kept = 0;
            foreach (var m in mask) kept += m;
            return kept / buf.Timesteps;
        }
    }

    /// <summary>1 / <paramref name="lossRows"/> as a float; exactly 1f / B when nothing is masked (the same bits as before masking existed).</summary>
    public static float InverseLossRows(double lossRows, int batch) =>
        lossRows == batch ? 1f / batch : lossRows > 0 ? (float)(1.0 / lossRows) : 0f;

    /// <summary>
    /// After <see cref="Forward"/>: the loss summed over rows (each row's loss is the mean over
    /// its timesteps), and dL/d(output) kept for <see cref="Backward"/>, times <paramref name="scale"/>.
    /// </summary>
    public double Loss(ILoss loss, ReadOnlySpan<float> y, float scale = 1f)
    {
        var buf = RequireBuffers();
        int b = buf.Batch, t = buf.Timesteps, o = Spec.OutputWidth, tw = loss.TargetWidth(o);
        bool seq = _outputIsSequence;
        int expected = b * (seq ? t : 1) * tw;
        if (y.Length != expected)
            throw new ModelException($"y holds {y.Length} values; expected shape {Tensor.FormatShape(TargetShape(loss, b, t))} = {expected} for loss {loss.Name}");
        ReadOnlySpan<float> target = y;
        if (seq)
        {
            TimeMajor.FromBatchMajor(y, buf.Target.AsSpan(0, expected), b, t, tw);
            target = buf.Target.AsSpan(0, expected);
        }
        var pred = buf.Layers[^1].Output;
        if (OutputMask is not { } mask) return loss.Compute(pred, target, o, buf.OutputGrad, scale / (seq ? t : 1));

        // Masked steps count for nothing: no loss, no gradient. Runs of kept vectors go to the loss together.
        double sum = 0;
        var grad = buf.OutputGrad.AsSpan();
        float stepScale = scale / t;
        for (int q = 0; q < mask.Length;)
        {
            if (mask[q] == 0f)
            {
                grad.Slice(q * o, o).Clear();
                q++;
                continue;
            }
            int end = q + 1;
            while (end < mask.Length && mask[end] != 0f) end++;
            int n = end - q;
            sum += loss.Compute(pred.Slice(q * o, n * o), target.Slice(q * tw, n * tw), o, grad.Slice(q * o, n * o), stepScale);
            q = end;
        }
        return sum;
    }

    /// <summary>
    /// Backpropagation after <see cref="Loss"/>: writes every weight gradient into
    /// <paramref name="gradients"/> (overwriting) and keeps dL/d(initial states) for <see cref="InitialStateGrad"/>.
    /// </summary>
    public void Backward(ReadOnlySpan<float> parameters, Span<float> gradients)
    {
        CheckParameters(parameters.Length);
        CheckParameters(gradients.Length);
        var buf = RequireBuffers();
        ReadOnlySpan<float> outputGrad = buf.OutputGrad;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            ReadOnlySpan<float> input = i == 0 ? buf.Input : buf.Layers[i - 1].Output;
            // The first layer's input gradient is never needed: the data is not trained.
            Span<float> inputGrad = i == 0 ? default : buf.Layers[i].InputGrad;
            _layers[i].Backward(parameters, gradients, input, outputGrad, buf.Layers[i], inputGrad);
            outputGrad = buf.Layers[i].InputGrad;
        }
    }

    /// <summary>Copies the last forward pass's prediction into <paramref name="destination"/>, batch-major.</summary>
    public void CopyPrediction(Span<float> destination)
    {
        var buf = RequireBuffers();
        var output = buf.Layers[^1].Output;
        if (_outputIsSequence) TimeMajor.ToBatchMajor(output, destination, buf.Batch, buf.Timesteps, Spec.OutputWidth);
        else output.CopyTo(destination);
    }

    /// <summary>State slot k after the last timestep of the last forward pass (B x H).</summary>
    public ReadOnlySpan<float> FinalState(int k)
    {
        var slot = StateSlots[k];
        return ((RecurrentLayer.Buffers)RequireBuffers().Layers[slot.LayerIndex]).State(slot.StateIndex, final: true);
    }

    /// <summary>dL/d(initial state k) from the last backward pass (B x H).</summary>
    public ReadOnlySpan<float> InitialStateGrad(int k)
    {
        var slot = StateSlots[k];
        return ((RecurrentLayer.Buffers)RequireBuffers().Layers[slot.LayerIndex]).InitialStateGrad(slot.StateIndex);
    }

    public string StateName(StateSlot slot) => $"{Spec.LayerName(slot.LayerIndex)}.initial_state{slot.StateIndex}";

    /// <summary>
    /// The buffers for this shape. Two shapes are kept: an epoch's full batches and its shorter
    /// last batch alternate, and allocating afresh each time costs more than the memory (a new
    /// array's pages are first touched, and faulted in, by the step that uses it).
    /// </summary>
    private NetworkBuffers BuffersFor(int batch, int timesteps)
    {
        if (_buffers is { } b && b.Batch == batch && b.Timesteps == timesteps) return b;
        var other = _otherShapeBuffers;
        _otherShapeBuffers = _buffers;
        _buffers = other is not null && other.Batch == batch && other.Timesteps == timesteps
            ? other
            : new NetworkBuffers(this, batch, timesteps);
        return _buffers;
    }

    private NetworkBuffers RequireBuffers() => _buffers ?? throw new InvalidOperationException("Forward must run first");

    private void CheckParameters(int length)
    {
        if (length != ParameterCount)
            throw new ModelException($"parameter vector has {length} values; this model has {ParameterCount}");
    }

    private sealed class NetworkBuffers
    {
        public NetworkBuffers(Network net, int batch, int timesteps)
        {
            Batch = batch;
            Timesteps = timesteps;
            Input = new float[batch * timesteps * net.Spec.InputFeatures];
            Layers = [.. net._layers.Select(l => l.Allocate(batch, timesteps))];
            int outRows = net._outputIsSequence ? batch * timesteps : batch;
            OutputGrad = new float[outRows * net.Spec.OutputWidth];
            Target = new float[outRows * net.Spec.OutputWidth];
        }

        public int Batch { get; }
        public int Timesteps { get; }
        public float[] Input { get; }
        public LayerBuffers[] Layers { get; }
        public float[] OutputGrad { get; }
        public float[] Target { get; }
    }
}

/// <summary>Converts between the user's (B, T, F) layout and the engine's (T, B, F).</summary>
internal static class TimeMajor
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromBatchMajor(ReadOnlySpan<float> source, Span<float> target, int batch, int timesteps, int width)
    {
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < timesteps; t++)
                source.Slice((b * timesteps + t) * width, width).CopyTo(target.Slice((t * batch + b) * width, width));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToBatchMajor(ReadOnlySpan<float> source, Span<float> target, int batch, int timesteps, int width)
    {
        for (int t = 0; t < timesteps; t++)
            for (int b = 0; b < batch; b++)
                source.Slice((t * batch + b) * width, width).CopyTo(target.Slice((b * timesteps + t) * width, width));
    }
}
