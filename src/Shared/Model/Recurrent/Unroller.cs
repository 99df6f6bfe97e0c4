using RnnCluster.Model.Cells;
using RnnCluster.Numerics;

namespace RnnCluster.Model.Recurrent;

/// <summary>
/// Owns the time loop of one recurrent layer, forward and backpropagation through time, for any
/// <see cref="IRecurrentCell"/>. All timesteps' input projections are one GEMM; only the recurrent
/// product stays in the loop; weight gradients over all timesteps are one GEMM each. Everything
/// is time-major (row t * B + b) and in processing order; <see cref="RecurrentLayer"/> reverses
/// the input for go_backwards. Buffers come from <see cref="UnrollBuffers"/>, allocated once per
/// batch shape.
/// </summary>
internal sealed class Unroller(IRecurrentCell cell, int inputWidth, IMathKernels kernels)
{
    private readonly int _units = cell.Units;
    private readonly int _gateWidth = cell.GateCount * cell.Units;

    public IRecurrentCell Cell => cell;

    public UnrollBuffers Allocate(int batch, int timesteps, bool goBackwards) =>
        new(batch, timesteps, inputWidth, _units, _gateWidth, cell.StateCount, cell.CacheWidth,
            !cell.SharesInputGradient, goBackwards);

    /// <summary>
    /// Runs all timesteps. <paramref name="input"/> is T*B x F in processing order; the initial
    /// states must already be in slot 0 of <see cref="UnrollBuffers.Hs"/> (and Cs).
    /// </summary>
    public void Forward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, rows = b * t;
        var gates = buf.Gates.AsSpan();
        kernels.Gemm(false, false, rows, g, inputWidth, 1f, input, inputWidth, kernel, g, 0f, gates, g);
        var inputBias = bias[..g];
        var recurrentBias = cell.HasRecurrentBias ? bias.Slice(g, g) : default;

        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var rec = buf.Recurrent.AsSpan();
        int stepGates = b * g, stepState = b * h, stepCache = b * cell.CacheWidth;
        for (int s = 0; s < t; s++)
        {
            var hPrev = hs.Slice(s * stepState, stepState);
            kernels.Gemm(false, false, b, g, h, 1f, hPrev, h, recurrentKernel, g, 0f, rec, g);
            cell.Forward(new CellForward
            {
                Gates = gates.Slice(s * stepGates, stepGates),
                Recurrent = rec,
                InputBias = inputBias,
                RecurrentBias = recurrentBias,
                HPrev = hPrev,
                CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState, stepState),
                H = hs.Slice((s + 1) * stepState, stepState),
                C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState, stepState),
                Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache, stepCache),
            });
        }
    }

    /// <summary>
    /// Backpropagation through time after <see cref="Forward"/> on the same buffers.
    /// <paramref name="outputGrad"/> is dL/d(output): T*B x H when the layer returns sequences,
    /// otherwise B x H for the last step. Writes the weight gradients (overwriting), dL/d(input)
    /// when <paramref name="inputGrad"/> is not empty, and leaves dL/d(initial states) in
    /// <see cref="UnrollBuffers.DHCarry"/> and <see cref="UnrollBuffers.DCCarry"/>.
    /// </summary>
    public void Backward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> outputGrad, bool returnSequences,
        Span<float> kernelGrad, Span<float> recurrentKernelGrad, Span<float> biasGrad, Span<float> inputGrad)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, rows = b * t;
        int stepGates = b * g, stepState = b * h, stepCache = b * cell.CacheWidth;
        var gates = buf.Gates.AsSpan();
        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var dz = buf.DInput.AsSpan();
        var dzRec = cell.SharesInputGradient ? dz : buf.DRecurrent.AsSpan();
        var dhCarry = buf.DHCarry.AsSpan();
        var dcCarry = buf.DCCarry.AsSpan();
        var dhStep = buf.DHStep.AsSpan();
        var direct = buf.Direct.AsSpan();

        dcCarry.Clear();
        if (returnSequences) dhCarry.Clear();
        else outputGrad.CopyTo(dhCarry);

        for (int s = t - 1; s >= 0; s--)
        {
            ReadOnlySpan<float> dh = dhCarry;
            if (returnSequences)
            {
                var fromOutput = outputGrad.Slice(s * stepState, stepState);
                for (int i = 0; i < stepState; i++) dhStep[i] = dhCarry[i] + fromOutput[i];
                dh = dhStep;
            }
            var dzStep = dz.Slice(s * stepGates, stepGates);
            var dzRecStep = dzRec.Slice(s * stepGates, stepGates);
            cell.Backward(new CellBackward
            {
                Gates = gates.Slice(s * stepGates, stepGates),
                Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache, stepCache),
                HPrev = hs.Slice(s * stepState, stepState),
                CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState, stepState),
                H = hs.Slice((s + 1) * stepState, stepState),
                C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState, stepState),
                DH = dh,
                DC = dcCarry,
                DInput = dzStep,
                DRecurrent = dzRecStep,
                DHPrevDirect = direct,
            });
            float beta = 0f;
            if (cell.HasDirectStatePath)
            {
                direct.CopyTo(dhCarry);
                beta = 1f;
            }
            kernels.Gemm(false, true, b, h, g, 1f, dzRecStep, g, recurrentKernel, g, beta, dhCarry, h);
        }

        var ones = buf.Ones.AsSpan();
        kernels.Gemm(true, false, inputWidth, g, rows, 1f, input, inputWidth, dz, g, 0f, kernelGrad, g);
        kernels.Gemm(true, false, h, g, rows, 1f, hs[..(rows * h)], h, dzRec, g, 0f, recurrentKernelGrad, g);
        kernels.Gemm(false, false, 1, g, rows, 1f, ones, rows, dz, g, 0f, biasGrad[..g], g);
        if (cell.HasRecurrentBias)
            kernels.Gemm(false, false, 1, g, rows, 1f, ones, rows, dzRec, g, 0f, biasGrad.Slice(g, g), g);
        if (!inputGrad.IsEmpty)
            kernels.Gemm(false, true, rows, inputWidth, g, 1f, dz, g, kernel, g, 0f, inputGrad, inputWidth);
    }
}

/// <summary>Every buffer one recurrent layer needs for one batch shape; reused step after step.</summary>
internal sealed class UnrollBuffers
{
    public UnrollBuffers(int batch, int timesteps, int inputWidth, int units, int gateWidth, int stateCount,
        int cacheWidth, bool separateRecurrentGradient, bool goBackwards)
    {
        Batch = batch;
        Timesteps = timesteps;
        int rows = batch * timesteps;
        Gates = new float[rows * gateWidth];
        Hs = new float[(timesteps + 1) * batch * units];
        Cs = stateCount > 1 ? new float[(timesteps + 1) * batch * units] : [];
        Cache = new float[rows * cacheWidth];
        Recurrent = new float[batch * gateWidth];
        DInput = new float[rows * gateWidth];
        DRecurrent = separateRecurrentGradient ? new float[rows * gateWidth] : [];
        DHCarry = new float[batch * units];
        DCCarry = new float[batch * units];
        DHStep = new float[batch * units];
        Direct = new float[batch * units];
        Ones = new float[rows];
        Array.Fill(Ones, 1f);
        ReversedInput = goBackwards ? new float[rows * inputWidth] : [];
        ReversedInputGrad = goBackwards ? new float[rows * inputWidth] : [];
    }

    public int Batch { get; }
    public int Timesteps { get; }

    /// <summary>Per step: input projection in, activated gates out.</summary>
    public float[] Gates { get; }

    /// <summary>h for slot 0 (initial) .. T (final), each B x H, processing order.</summary>
    public float[] Hs { get; }

    /// <summary>c like <see cref="Hs"/> (LSTM only).</summary>
    public float[] Cs { get; }

    public float[] Cache { get; }
    public float[] Recurrent { get; }
    public float[] DInput { get; }
    public float[] DRecurrent { get; }
    public float[] DHCarry { get; }
    public float[] DCCarry { get; }
    public float[] DHStep { get; }
    public float[] Direct { get; }
    public float[] Ones { get; }

    /// <summary>go_backwards: the layer's input in processing order, and its gradient.</summary>
    public float[] ReversedInput { get; }
    public float[] ReversedInputGrad { get; }
}
