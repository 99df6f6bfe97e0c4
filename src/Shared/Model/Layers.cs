using RnnCluster.Model.Cells;
using RnnCluster.Model.Recurrent;
using RnnCluster.Numerics;

namespace RnnCluster.Model;

/// <summary>A named weight of a model: Keras name and shape, and where it lives in the flat parameter vector.</summary>
public sealed record WeightInfo(string Name, int[] Shape, int Offset, int Length);

/// <summary>One recurrent state of one layer: h (index 0) or c (index 1, LSTM).</summary>
public sealed record StateSlot(int LayerIndex, int StateIndex, int Units);

/// <summary>The run-time side of one layer inside a <see cref="Network"/>: weights as offsets, math on buffers.</summary>
internal abstract class RuntimeLayer(int index, LayerSpec spec, int inputWidth, bool inputIsSequence)
{
    public int Index { get; } = index;
    public LayerSpec Spec { get; } = spec;
    public int InputWidth { get; } = inputWidth;
    public virtual int OutputWidth => Spec.Units;
    public bool InputIsSequence { get; } = inputIsSequence;
    public abstract bool OutputIsSequence { get; }
    public abstract IReadOnlyList<WeightInfo> Weights { get; }

    public abstract LayerBuffers Allocate(int batch, int timesteps);

    public abstract void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, LayerBuffers buffers);

    /// <summary>Writes this layer's weight gradients and, when <paramref name="inputGrad"/> is not empty, dL/d(input).</summary>
    public abstract void Backward(ReadOnlySpan<float> parameters, Span<float> gradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> outputGrad, LayerBuffers buffers, Span<float> inputGrad);

    protected static ReadOnlySpan<float> Of(ReadOnlySpan<float> all, WeightInfo w) => all.Slice(w.Offset, w.Length);

    protected static Span<float> Of(Span<float> all, WeightInfo w) => all.Slice(w.Offset, w.Length);
}

internal abstract class LayerBuffers(int batch, int timesteps)
{
    public int Batch { get; } = batch;
    public int Timesteps { get; } = timesteps;

    /// <summary>The layer's output: T*B x O (time-major) for sequences, B x O otherwise.</summary>
    public abstract ReadOnlySpan<float> Output { get; }

    /// <summary>dL/d(this layer's input), T*B x F or B x F.</summary>
    public float[] InputGrad { get; init; } = [];

    /// <summary>
    /// The mask of this pass's input, set by the network before the layer's forward pass: T*B,
    /// time-major, 1 = step kept, 0 = masked; null when nothing is masked.
    /// </summary>
    public float[]? InputMask { get; set; }

    /// <summary>The mask this layer passes on (Keras's compute_mask); by default none.</summary>
    public virtual float[]? OutputMask => null;
}

/// <summary>Keras Dense on the last axis (at every timestep of a sequence), with its activation.</summary>
internal sealed class DenseLayer : RuntimeLayer
{
    private readonly IMathKernels _kernels;
    private readonly Activation _activation;
    private readonly WeightInfo _kernel;
    private readonly WeightInfo _bias;

    public DenseLayer(int index, LayerSpec spec, string name, int inputWidth, bool inputIsSequence, ref int offset, IMathKernels kernels)
        : base(index, spec, inputWidth, inputIsSequence)
    {
        _kernels = kernels;
        _activation = ActivationNames.Parse(spec.Activation);
        _kernel = new WeightInfo($"{name}.kernel", [inputWidth, spec.Units], offset, inputWidth * spec.Units);
        offset += _kernel.Length;
        _bias = new WeightInfo($"{name}.bias", [spec.Units], offset, spec.Units);
        offset += _bias.Length;
        Weights = [_kernel, _bias];
    }

    public override bool OutputIsSequence => InputIsSequence;
    public override IReadOnlyList<WeightInfo> Weights { get; }

    private sealed class Buffers : LayerBuffers
    {
        public Buffers(int batch, int timesteps, int rows, int inputWidth, int units) : base(batch, timesteps)
        {
            Rows = rows;
            Out = new float[rows * units];
            DZ = new float[rows * units];
            Ones = new float[rows];
            Array.Fill(Ones, 1f);
            InputGrad = new float[rows * inputWidth];
        }

        public int Rows { get; }
        public float[] Out { get; }
        public float[] DZ { get; }
        public float[] Ones { get; }
        public override ReadOnlySpan<float> Output => Out;

        /// <summary>Keras Dense supports masking: a sequence's mask passes through unchanged.</summary>
        public override float[]? OutputMask => InputMask;
    }

    public override LayerBuffers Allocate(int batch, int timesteps) =>
        new Buffers(batch, timesteps, InputIsSequence ? batch * timesteps : batch, InputWidth, OutputWidth);

    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, LayerBuffers buffers)
    {
        var b = (Buffers)buffers;
        int o = OutputWidth;
        var output = b.Out.AsSpan();
        var bias = Of(parameters, _bias);
        for (int r = 0; r < b.Rows; r++) bias.CopyTo(output.Slice(r * o, o));
        _kernels.Gemm(false, false, b.Rows, o, InputWidth, 1f, input, InputWidth, Of(parameters, _kernel), o, 1f, output, o);
        switch (_activation)
        {
            case Activation.Tanh: _kernels.Tanh(output, output); break;
            case Activation.Sigmoid: Elementwise.SigmoidInPlace(_kernels, output); break;
            case Activation.Relu:
                for (int i = 0; i < output.Length; i++) output[i] = MathF.Max(output[i], 0f);
                break;
            case Activation.Softmax:
                for (int r = 0; r < b.Rows; r++) Softmax.InPlace(output.Slice(r * o, o));
                break;
        }
    }

    public override void Backward(ReadOnlySpan<float> parameters, Span<float> gradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> outputGrad, LayerBuffers buffers, Span<float> inputGrad)
    {
        var b = (Buffers)buffers;
        int o = OutputWidth;
        var y = b.Out.AsSpan();
        var dz = b.DZ.AsSpan();
        switch (_activation)
        {
            case Activation.Linear: outputGrad.CopyTo(dz); break;
            case Activation.Tanh:
                for (int i = 0; i < dz.Length; i++) dz[i] = outputGrad[i] * (1f - y[i] * y[i]);
                break;
            case Activation.Sigmoid:
                for (int i = 0; i < dz.Length; i++) dz[i] = outputGrad[i] * y[i] * (1f - y[i]);
                break;
            case Activation.Relu:
                for (int i = 0; i < dz.Length; i++) dz[i] = y[i] > 0f ? outputGrad[i] : 0f;
                break;
            case Activation.Softmax:
                for (int r = 0; r < b.Rows; r++)
                    Softmax.Backward(y.Slice(r * o, o), outputGrad.Slice(r * o, o), dz.Slice(r * o, o));
                break;
        }
        _kernels.Gemm(true, false, InputWidth, o, b.Rows, 1f, input, InputWidth, dz, o, 0f, Of(gradients, _kernel), o);
        _kernels.Gemm(false, false, 1, o, b.Rows, 1f, b.Ones, b.Rows, dz, o, 0f, Of(gradients, _bias), o);
        if (!inputGrad.IsEmpty)
            _kernels.Gemm(false, true, b.Rows, InputWidth, o, 1f, dz, o, Of(parameters, _kernel), o, 0f, inputGrad, InputWidth);
    }
}

/// <summary>Buffers of a layer that computes the mask (masking, embedding with mask_zero): its output and the mask of each step.</summary>
internal class MaskSourceBuffers(int batch, int timesteps, int width) : LayerBuffers(batch, timesteps)
{
    public float[] Out { get; } = new float[batch * timesteps * width];

    /// <summary>Time-major T*B: 1 = step kept, 0 = masked.</summary>
    public float[] Mask { get; } = new float[batch * timesteps];

    /// <summary>False when no step of the pass is masked: the layers after it then run unmasked.</summary>
    public bool AnyMasked { get; set; }

    public override ReadOnlySpan<float> Output => Out;
    public override float[]? OutputMask => AnyMasked ? Mask : null;
}

/// <summary>
/// Keras Masking: a timestep whose features all equal <c>mask_value</c> is masked for the layers
/// after it; the output is the input times the mask (masked steps become zeros).
/// </summary>
internal sealed class MaskingLayer(int index, LayerSpec spec, int inputWidth) : RuntimeLayer(index, spec, inputWidth, inputIsSequence: true)
{
    private readonly float _maskValue = spec.MaskValue ?? 0f;

    public override int OutputWidth => InputWidth;
    public override bool OutputIsSequence => true;
    public override IReadOnlyList<WeightInfo> Weights { get; } = [];

    public override LayerBuffers Allocate(int batch, int timesteps) =>
        new MaskSourceBuffers(batch, timesteps, InputWidth) { InputGrad = new float[batch * timesteps * InputWidth] };

    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, LayerBuffers buffers)
    {
        var b = (MaskSourceBuffers)buffers;
        int f = InputWidth;
        bool any = false;
        for (int q = 0; q < b.Mask.Length; q++)
        {
            var row = input.Slice(q * f, f);
            var output = b.Out.AsSpan(q * f, f);
            bool keep = false;
            foreach (var v in row)
                if (v != _maskValue) { keep = true; break; }
            b.Mask[q] = keep ? 1f : 0f;
            if (keep) row.CopyTo(output);
            else output.Clear();
            any |= !keep;
        }
        b.AnyMasked = any;
    }

    public override void Backward(ReadOnlySpan<float> parameters, Span<float> gradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> outputGrad, LayerBuffers buffers, Span<float> inputGrad)
    {
        if (inputGrad.IsEmpty) return;
        var b = (MaskSourceBuffers)buffers;
        int f = InputWidth;
        for (int q = 0; q < b.Mask.Length; q++)
        {
            if (b.Mask[q] != 0f) outputGrad.Slice(q * f, f).CopyTo(inputGrad.Slice(q * f, f));
            else inputGrad.Slice(q * f, f).Clear();
        }
    }
}

internal static class Softmax
{
    public static void InPlace(Span<float> v)
    {
        float max = float.NegativeInfinity;
        foreach (var x in v) max = MathF.Max(max, x);
        float sum = 0f;
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = MathF.Exp(v[i] - max);
            sum += v[i];
        }
        for (int i = 0; i < v.Length; i++) v[i] /= sum;
    }

    /// <summary>dz = s * (dy - sum(s * dy)).</summary>
    public static void Backward(ReadOnlySpan<float> s, ReadOnlySpan<float> dy, Span<float> dz)
    {
        float dot = 0f;
        for (int i = 0; i < s.Length; i++) dot += s[i] * dy[i];
        for (int i = 0; i < s.Length; i++) dz[i] = s[i] * (dy[i] - dot);
    }
}

/// <summary>A SimpleRNN, LSTM or GRU layer: Keras weights, go_backwards, return_sequences; the time loop is the <see cref="Unroller"/>'s.</summary>
internal sealed class RecurrentLayer : RuntimeLayer
{
    private readonly Unroller _unroller;
    private readonly WeightInfo _kernel;
    private readonly WeightInfo _recurrentKernel;
    private readonly WeightInfo _bias;

    public RecurrentLayer(int index, LayerSpec spec, string name, int inputWidth, ref int offset, IMathKernels kernels)
        : base(index, spec, inputWidth, inputIsSequence: true)
    {
        IRecurrentCell cell = spec.Kind switch
        {
            LayerKinds.SimpleRnn => new SimpleRnnCell(spec.Units, ActivationNames.Parse(spec.Activation ?? "tanh")),
            LayerKinds.Lstm => new LstmCell(spec.Units),
            LayerKinds.Gru => new GruCell(spec.Units),
            _ => throw new ModelException($"layer {index}: '{spec.Kind}' is not a recurrent kind"),
        };
        Cell = cell;
        _unroller = new Unroller(cell, inputWidth, kernels);
        int g = cell.GateCount * spec.Units;
        _kernel = new WeightInfo($"{name}.kernel", [inputWidth, g], offset, inputWidth * g);
        offset += _kernel.Length;
        _recurrentKernel = new WeightInfo($"{name}.recurrent_kernel", [spec.Units, g], offset, spec.Units * g);
        offset += _recurrentKernel.Length;
        int[] biasShape = cell.HasRecurrentBias ? [2, g] : [g];
        _bias = new WeightInfo($"{name}.bias", biasShape, offset, cell.HasRecurrentBias ? 2 * g : g);
        offset += _bias.Length;
        Weights = [_kernel, _recurrentKernel, _bias];
    }

    public IRecurrentCell Cell { get; }
    public override bool OutputIsSequence => Spec.ReturnSequences;
    public override IReadOnlyList<WeightInfo> Weights { get; }
    public WeightInfo Kernel => _kernel;
    public WeightInfo RecurrentKernel => _recurrentKernel;
    public WeightInfo Bias => _bias;

    internal sealed class Buffers(UnrollBuffers unroll, int units, bool returnSequences) : LayerBuffers(unroll.Batch, unroll.Timesteps)
    {
        public UnrollBuffers Unroll { get; } = unroll;

        /// <summary>The pass's step mask in processing order (allocated on the first masked pass), or null for an unmasked pass.</summary>
        public StepMask? Mask { get; set; }

        private StepMask? _maskStorage;

        public StepMask MaskStorage => _maskStorage ??= new StepMask(Batch, Timesteps, units);

        /// <summary>
        /// Masked passes with a row whose first steps are masked: the output with zeros before each
        /// row's first unmasked step (Keras's previous output starts at zeros, the state at the
        /// initial state); null otherwise, when the output is the states themselves.
        /// </summary>
        public float[]? MaskedOutput { get; set; }

        private float[]? _outputScratch, _outputGradScratch;

        /// <summary>Storage for <see cref="MaskedOutput"/>, and for dL/d(output) with its zeroed positions cleared (allocated on first use).</summary>
        public float[] OutputScratch => _outputScratch ??= new float[States.Length];

        public float[] OutputGradScratch => _outputGradScratch ??= new float[States.Length];

        public ReadOnlySpan<float> States => returnSequences
            ? Unroll.Hs.AsSpan(Batch * units)
            : Unroll.Hs.AsSpan(Timesteps * Batch * units, Batch * units);

        public override ReadOnlySpan<float> Output => MaskedOutput is { } masked ? masked : States;

        /// <summary>Keras: a recurrent layer passes its input mask on when it returns sequences.</summary>
        public override float[]? OutputMask => returnSequences ? InputMask : null;

        /// <summary>State s (0: h, 1: c) at slot 0 (initial) or slot T (final), B x H.</summary>
        public Span<float> State(int s, bool final) =>
            (s == 0 ? Unroll.Hs : Unroll.Cs).AsSpan((final ? Timesteps : 0) * Batch * units, Batch * units);

        public ReadOnlySpan<float> InitialStateGrad(int s) => s == 0 ? Unroll.DHCarry : Unroll.DCCarry;
    }

    public override LayerBuffers Allocate(int batch, int timesteps) =>
        new Buffers(_unroller.Allocate(batch, timesteps, Spec.GoBackwards), Spec.Units, Spec.ReturnSequences)
        {
            InputGrad = new float[batch * timesteps * InputWidth],
        };

    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, LayerBuffers buffers)
    {
        var b = (Buffers)buffers;
        var processed = input;
        if (Spec.GoBackwards)
        {
            ReverseTime(input, b.Unroll.ReversedInput, b.Batch * InputWidth);
            processed = b.Unroll.ReversedInput;
        }
        b.Mask = null;
        b.MaskedOutput = null;
        if (b.InputMask is { } inputMask)
        {
            b.Mask = b.MaskStorage;
            b.Mask.Load(inputMask, Spec.GoBackwards);
        }
        _unroller.Forward(b.Unroll, processed, Block(parameters), b.Mask);
        if (b.Mask is { HasUnstarted: true } mask) b.MaskedOutput = ZeroUnstarted(mask, b.States, b, b.OutputScratch);
    }

    /// <summary>
    /// Copies <paramref name="values"/> (the states at each output position: T*B x H, or B x H for
    /// the last step) with zeros where the row has had no unmasked step yet.
    /// </summary>
    private float[] ZeroUnstarted(StepMask mask, ReadOnlySpan<float> values, Buffers b, float[] scratch)
    {
        int h = Spec.Units, batch = b.Batch, t = b.Timesteps;
        values.CopyTo(scratch);
        int steps = values.Length / (batch * h);
        for (int s = 0; s < steps; s++)
        {
            // Without return_sequences the one output position is the last step.
            int step = Spec.ReturnSequences ? s : t - 1;
            for (int r = 0; r < batch; r++)
                if (!mask.Started[step * batch + r]) scratch.AsSpan((s * batch + r) * h, h).Clear();
        }
        return scratch;
    }

    public override void Backward(ReadOnlySpan<float> parameters, Span<float> gradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> outputGrad, LayerBuffers buffers, Span<float> inputGrad)
    {
        var b = (Buffers)buffers;
        ReadOnlySpan<float> processed = Spec.GoBackwards ? b.Unroll.ReversedInput : input;
        Span<float> processedGrad = inputGrad.IsEmpty ? default : Spec.GoBackwards ? b.Unroll.ReversedInputGrad : inputGrad;
        // Outputs held at zeros (before a row's first unmasked step) pass no gradient back.
        if (b.MaskedOutput is not null) outputGrad = ZeroUnstarted(b.Mask!, outputGrad, b, b.OutputGradScratch);
        _unroller.Backward(b.Unroll, processed, Block(parameters), outputGrad, Spec.ReturnSequences, Block(gradients), processedGrad, b.Mask);
        if (Spec.GoBackwards && !inputGrad.IsEmpty) ReverseTime(processedGrad, inputGrad, b.Batch * InputWidth);
    }

    /// <summary>[K; R; bias]: the layer's weights (or their gradients), which the constructor lays out one after the other.</summary>
    private ReadOnlySpan<float> Block(ReadOnlySpan<float> all) => all.Slice(_kernel.Offset, _kernel.Length + _recurrentKernel.Length + _bias.Length);

    private Span<float> Block(Span<float> all) => all.Slice(_kernel.Offset, _kernel.Length + _recurrentKernel.Length + _bias.Length);

    /// <summary>Copies a time-major buffer with its timesteps in reverse order.</summary>
    private static void ReverseTime(ReadOnlySpan<float> source, Span<float> target, int stepLength)
    {
        int steps = source.Length / stepLength;
        for (int t = 0; t < steps; t++)
            source.Slice(t * stepLength, stepLength).CopyTo(target.Slice((steps - 1 - t) * stepLength, stepLength));
    }
}
