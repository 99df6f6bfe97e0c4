using System.Runtime.CompilerServices;
using RnnCluster.Model.Cells;
using RnnCluster.Numerics;

namespace RnnCluster.Model.Recurrent;

/// <summary>
/// Owns the time loop of one recurrent layer, forward and backpropagation through time, for any
/// <see cref="IRecurrentCell"/>. The layer's parameters arrive as one block [K; R; bias], as Keras
/// lays kernel, recurrent kernel and bias out one after the other, and so do their gradients.
/// Everything is time-major (row t * B + b) and in processing order; <see cref="RecurrentLayer"/>
/// reverses the input for go_backwards. Buffers come from <see cref="UnrollBuffers"/>, allocated
/// once per batch shape.
/// <para>
/// Cells that only see the sum x K + h_prev R + b (<see cref="IRecurrentCell.SumsProjections"/>:
/// SimpleRNN, LSTM, whose bias is one row of G) get it from one GEMM per step, [x_t, h_prev, 1]
/// [K; R; b], over a stacked buffer whose rows are [x, h_prev, 1]; their gradient over all
/// timesteps, bias included, is one GEMM too, stacked^T dz. That saves the separate input
/// projection (a GEMM with a short inner dimension F, slow), the bias sums (a pass over all of
/// dz) and the cell's extra passes over gate-sized buffers. GRU's reset gate multiplies the recurrent
/// part alone, so for it all timesteps' input projections are one GEMM and only h_prev R stays
/// in the loop. The per-step products multiply by a <see cref="PackedMatrix"/>, the matrix they share
/// packed once per pass by the math backend (MKL's packed format; a row-major copy for managed math),
/// so both backends run this same code.
/// </para>
/// <para>
/// With more than one backend thread (<see cref="IMathKernels.Threads"/>: MKL's GNU OpenMP layer), a
/// pass runs on two threads of ours (<see cref="RowSplitter"/>), each with sequential MKL: the time
/// loop is split by batch rows (rows never interact inside the loop, so each half runs its own per-step GEMMs and cell steps with no synchronisation
/// per timestep); the once-per-pass work by time-major rows (each part sums the gradients over
/// its rows; the second part's sums are added after the join). MKL's own OpenMP threads are not
/// used by the layer: on small per-step GEMMs they synchronise every call, and their spinning
/// workers would compete with ours. With one MKL thread (the default, and every local-mode
/// worker) everything runs on the calling thread.
/// </para>
/// </summary>
internal sealed unsafe class Unroller(IRecurrentCell cell, int inputWidth, IMathKernels kernels)
{
    /// <summary>Below this many batch rows per part a split costs more than it saves.</summary>
    private const int MinRowsPerPart = 8;

    private readonly int _units = cell.Units;
    private readonly int _gateWidth = cell.GateCount * cell.Units;
    private readonly bool _stacked = cell.SumsProjections;

    /// <summary>Width of a stacked row [x, h_prev, 1].</summary>
    private readonly int _stackedWidth = inputWidth + cell.Units + 1;

    // The matrices every timestep multiplies by, packed once per pass (MKL: saves packing them
    // T times, same bits as the plain GEMM; managed: R^T transposed once): W or R forward, R^T backward.
    private readonly PackedMatrix _forwardMatrix = new(kernels);
    private readonly PackedMatrix _backwardMatrix = new(kernels);

    private enum Phase
    {
        Project,
        ForwardLoop,
        BackwardLoop,
        Gradients,
    }

    /// <summary>A view of memory the caller has pinned for the duration of a split pass; it owns nothing.</summary>
    private readonly struct PinnedView(float* pointer, int length)
    {
        public Span<float> Span => new(pointer, length);
    }

    // The split pass in progress: set by the calling thread before the helper starts, read by both.
    private UnrollBuffers? _buf;
    private Phase _phase;
    private int _splitRow;
    private bool _returnSequences;
    private PinnedView _input, _block, _outputGrad, _blockGrad, _inputGrad;

    // The pass's step mask (null: every step of every row is processed); set by Forward and Backward for their pass.
    private StepMask? _mask;

    public IRecurrentCell Cell => cell;

    /// <summary>The math this layer runs on (the row splitter sets its threads through it).</summary>
    public IMathKernels Kernels => kernels;

    public UnrollBuffers Allocate(int batch, int timesteps, bool goBackwards) =>
        new(batch, timesteps, inputWidth, _units, _gateWidth, cell.StateCount, cell.CacheWidth, _stacked, goBackwards);

    /// <summary>Batch row at which a pass is cut in two, or 0 to run it on the calling thread only.</summary>
    private int SplitRow(int batch) => kernels.Threads >= 2 && batch >= 2 * MinRowsPerPart ? batch / 2 : 0;

    private ReadOnlySpan<float> Kernel(ReadOnlySpan<float> block) => block[..(inputWidth * _gateWidth)];

    private ReadOnlySpan<float> RecurrentKernel(ReadOnlySpan<float> block) => block.Slice(inputWidth * _gateWidth, _units * _gateWidth);

    private ReadOnlySpan<float> Bias(ReadOnlySpan<float> block) => block[((inputWidth + _units) * _gateWidth)..];

    /// <summary>
    /// Runs all timesteps. <paramref name="input"/> is T*B x F in processing order;
    /// <paramref name="block"/> is [K; R; bias]. The initial states must already be in slot 0 of
    /// <see cref="UnrollBuffers.Hs"/> (and Cs). <paramref name="mask"/>, when given, says which
    /// steps of which rows are processed (Keras's masking rules, see <see cref="StepMask"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> block, StepMask? mask = null)
    {
        _mask = mask;
        int b = buf.Batch, rows = b * buf.Timesteps, g = _gateWidth;
        int split = SplitRow(b);
        // Forward: (B x K) times [K; R; b] (stacked) or R (separate), K the inner dimension.
        _forwardMatrix.Pack(false, b, g, _stacked ? _stackedWidth : _units, _stacked ? block : RecurrentKernel(block), g);
        if (split == 0)
        {
            Project(buf, input, block, 0, rows);
            ForwardRows(buf, block, 0, b);
            return;
        }
        fixed (float* pi = input)
        fixed (float* pw = block)
        {
            _buf = buf;
            _splitRow = split;
            _input = new PinnedView(pi, input.Length);
            _block = new PinnedView(pw, block.Length);
            try
            {
                _phase = Phase.Project;
                RowSplitter.Run(this);
                _phase = Phase.ForwardLoop;
                RowSplitter.Run(this);
            }
            finally
            {
                _buf = null;
                _input = _block = default;
            }
        }
    }

    /// <summary>
    /// Backpropagation through time after <see cref="Forward"/> on the same buffers.
    /// <paramref name="outputGrad"/> is dL/d(output): T*B x H when the layer returns sequences,
    /// otherwise B x H for the last step. Writes the gradient of [K; R; bias] into
    /// <paramref name="blockGrad"/> (overwriting), dL/d(input) when <paramref name="inputGrad"/> is
    /// not empty, and leaves dL/d(initial states) in <see cref="UnrollBuffers.DHCarry"/> and
    /// <see cref="UnrollBuffers.DCCarry"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> block,
        ReadOnlySpan<float> outputGrad, bool returnSequences, Span<float> blockGrad, Span<float> inputGrad, StepMask? mask = null)
    {
        _mask = mask;
        int b = buf.Batch, rows = b * buf.Timesteps;
        int split = SplitRow(b);
        // Backward: (B x G) times R^T (G x H).
        _backwardMatrix.Pack(true, b, _units, _gateWidth, RecurrentKernel(block), _gateWidth);
        if (split == 0)
        {
            BackwardRows(buf, block, outputGrad, returnSequences, 0, b);
            Gradients(buf, input, block, blockGrad, inputGrad, 0, rows, part: 0);
            return;
        }
        fixed (float* pi = input)
        fixed (float* pw = block)
        fixed (float* po = outputGrad)
        fixed (float* pwg = blockGrad)
        fixed (float* pig = inputGrad)
        {
            _buf = buf;
            _splitRow = split;
            _returnSequences = returnSequences;
            _input = new PinnedView(pi, input.Length);
            _block = new PinnedView(pw, block.Length);
            _outputGrad = new PinnedView(po, outputGrad.Length);
            _blockGrad = new PinnedView(pwg, blockGrad.Length);
            _inputGrad = new PinnedView(pig, inputGrad.Length);
            try
            {
                _phase = Phase.BackwardLoop;
                RowSplitter.Run(this);
                _phase = Phase.Gradients;
                buf.EnsureSplitScratch(blockGrad.Length);
                RowSplitter.Run(this);
                kernels.Axpy(1f, buf.SplitScratch.AsSpan(0, blockGrad.Length), blockGrad);
            }
            finally
            {
                _buf = null;
                _input = _block = _outputGrad = _blockGrad = _inputGrad = default;
            }
        }
    }

    /// <summary>Which part of a split pass starts at batch row <paramref name="r0"/> (0 when not split).</summary>
    private static int PartOf(int r0) => r0 == 0 ? 0 : 1;

    /// <summary>Part 0 or part 1 of the split pass in progress (see <see cref="RowSplitter"/>).</summary>
    internal void RunPart(int part)
    {
        var buf = _buf!;
        int b = buf.Batch, rows = b * buf.Timesteps;
        // Batch rows [r0, r1) for the time loops; time-major rows [q0, q1) for the once-per-pass work.
        int r0 = part == 0 ? 0 : _splitRow, r1 = part == 0 ? _splitRow : b;
        int rowCut = rows / 2, q0 = part == 0 ? 0 : rowCut, q1 = part == 0 ? rowCut : rows;
        switch (_phase)
        {
            case Phase.Project:
                Project(buf, _input.Span, _block.Span, q0, q1);
                break;
            case Phase.ForwardLoop:
                ForwardRows(buf, _block.Span, r0, r1);
                break;
            case Phase.BackwardLoop:
                BackwardRows(buf, _block.Span, _outputGrad.Span, _returnSequences, r0, r1);
                break;
            case Phase.Gradients:
                // Each part sums the weight gradients over its rows; part 1 into scratch, added after the join.
                var gradients = part == 0 ? _blockGrad.Span : buf.SplitScratch.AsSpan(0, _blockGrad.Span.Length);
                Gradients(buf, _input.Span, _block.Span, gradients, _inputGrad.Span, q0, q1, part);
                break;
        }
    }

    /// <summary>
    /// The once-per-pass work before the time loop, for time-major rows [q0, q1): stacked cells
    /// get x copied into the first F columns of their stacked rows (the last column holds 1 from
    /// allocation on); the others get the input projections x K in the gate buffer.
    /// </summary>
    private void Project(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> block, int q0, int q1)
    {
        int g = _gateWidth, f = inputWidth, n = q1 - q0;
        if (n == 0) return;
        if (_stacked)
        {
            var stacked = buf.Stacked.AsSpan();
            for (int q = q0; q < q1; q++) input.Slice(q * f, f).CopyTo(stacked.Slice(q * _stackedWidth, f));
            return;
        }
        kernels.Gemm(false, false, n, g, f, 1f, input.Slice(q0 * f, n * f), f, Kernel(block), g,
            0f, buf.Gates.AsSpan(q0 * g, n * g), g);
    }

    /// <summary>Copies n state rows (n x H) into the h_prev columns of n stacked rows.</summary>
    private void CopyIntoStacked(ReadOnlySpan<float> states, Span<float> stackedRows)
    {
        int h = _units, w = _stackedWidth;
        for (int i = 0, rowsToCopy = states.Length / h; i < rowsToCopy; i++)
            states.Slice(i * h, h).CopyTo(stackedRows.Slice(i * w + inputWidth, h));
    }

    /// <summary>The time loop for batch rows [r0, r1): the per-step product, then the cell's fused step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardRows(UnrollBuffers buf, ReadOnlySpan<float> block, int r0, int r1)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, cw = cell.CacheWidth, n = r1 - r0, w = _stackedWidth;
        var gates = buf.Gates.AsSpan();
        // Stacked cells get the bias inside the product; GRU adds its two bias rows in the cell.
        var bias = Bias(block);
        var inputBias = _stacked ? default : bias[..g];
        var recurrentBias = cell.HasRecurrentBias ? bias.Slice(g, g) : default;
        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var stacked = buf.Stacked.AsSpan();
        int stepGates = b * g, stepState = b * h, stepCache = b * cw, stepStacked = b * w;
        var mask = _mask;
        if (_stacked) CopyIntoStacked(hs.Slice(r0 * h, n * h), stacked.Slice(r0 * w, n * w));
        for (int s = 0; s < t; s++)
        {
            // Masked: the step runs over the block of rows [a, a + m) that holds its unmasked rows.
            int a = r0, m = n;
            mask?.Narrow(s, r0, r1, out a, out m);
            var hPrev = hs.Slice(s * stepState + a * h, m * h);
            var stepGateRows = gates.Slice(s * stepGates + a * g, m * g);
            var hNext = hs.Slice((s + 1) * stepState + a * h, m * h);
            var rec = _stacked ? default : buf.Recurrent.AsSpan(a * g, m * g);
            if (m > 0)
            {
                if (_stacked)
                    _forwardMatrix.Multiply(m, stacked.Slice(s * stepStacked + a * w, m * w), w, 0f, stepGateRows, g);
                else
                    _forwardMatrix.Multiply(m, hPrev, h, 0f, rec, g);
                cell.Forward(new CellForward
                {
                    Gates = stepGateRows,
                    Recurrent = rec,
                    InputBias = inputBias,
                    RecurrentBias = recurrentBias,
                    HPrev = hPrev,
                    CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState + a * h, m * h),
                    H = hNext,
                    C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState + a * h, m * h),
                    Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache + a * cw, m * cw),
                });
            }
            if (mask is not null)
            {
                mask.HoldState(s, r0, r1, hs.Slice(s * stepState + r0 * h, n * h), hs.Slice((s + 1) * stepState + r0 * h, n * h));
                if (!cs.IsEmpty) mask.HoldState(s, r0, r1, cs.Slice(s * stepState + r0 * h, n * h), cs.Slice((s + 1) * stepState + r0 * h, n * h));
            }
            if (_stacked && s + 1 < t)
                CopyIntoStacked(hs.Slice((s + 1) * stepState + r0 * h, n * h), stacked.Slice((s + 1) * stepStacked + r0 * w, n * w));
        }
    }

    /// <summary>Backpropagation through time for batch rows [r0, r1): dL/d(gates) of every step and dL/d(initial states).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardRows(UnrollBuffers buf, ReadOnlySpan<float> block, ReadOnlySpan<float> outputGrad,
        bool returnSequences, int r0, int r1)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, cw = cell.CacheWidth, n = r1 - r0;
        int stepGates = b * g, stepState = b * h, stepCache = b * cw;
        var gates = buf.Gates.AsSpan();
        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var dz = buf.DInput.AsSpan();
        var dzRec = _stacked ? dz : buf.DRecurrent.AsSpan();
        var dhCarry = buf.DHCarry.AsSpan(r0 * h, n * h);
        var dcCarry = buf.DCCarry.AsSpan(r0 * h, n * h);
        var dhStep = buf.DHStep.AsSpan(r0 * h, n * h);
        var direct = buf.Direct.AsSpan(r0 * h, n * h);
        // Other cells: the bias-gradient sums of this part's rows, added step by step while dz is
        // still in cache (one pass over all of dz afterwards would read it from memory again).
        var biasSums = _stacked ? default : buf.BiasSums.AsSpan(PartOf(r0) * 2 * g, 2 * g);
        var ones = _stacked ? default : buf.Ones.AsSpan(0, n);
        biasSums.Clear();

        dcCarry.Clear();
        if (returnSequences) dhCarry.Clear();
        else outputGrad.Slice(r0 * h, n * h).CopyTo(dhCarry);

        var mask = _mask;
        for (int s = t - 1; s >= 0; s--)
        {
            ReadOnlySpan<float> dh = dhCarry;
            if (returnSequences)
            {
                var fromOutput = outputGrad.Slice(s * stepState + r0 * h, n * h);
                for (int i = 0; i < dhStep.Length; i++) dhStep[i] = dhCarry[i] + fromOutput[i];
                dh = dhStep;
            }
            // Masked: the step runs over the block [a, a + m) of its unmasked rows; the others pass dh and dc through.
            int a = r0, m = n;
            if (mask is not null)
            {
                mask.Narrow(s, r0, r1, out a, out m);
                mask.SaveGradients(s, r0, r1, dh, cs.IsEmpty ? default : dcCarry);
            }
            int at = (a - r0) * h;
            var dzStep = dz.Slice(s * stepGates + a * g, m * g);
            var dzRecStep = dzRec.Slice(s * stepGates + a * g, m * g);
            if (m > 0)
            {
                cell.Backward(new CellBackward
                {
                    Gates = gates.Slice(s * stepGates + a * g, m * g),
                    Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache + a * cw, m * cw),
                    HPrev = hs.Slice(s * stepState + a * h, m * h),
                    CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState + a * h, m * h),
                    H = hs.Slice((s + 1) * stepState + a * h, m * h),
                    C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState + a * h, m * h),
                    DH = dh.Slice(at, m * h),
                    DC = dcCarry.Slice(at, m * h),
                    DInput = dzStep,
                    DRecurrent = dzRecStep,
                    DHPrevDirect = direct.Slice(at, m * h),
                });
            }
            if (mask is not null)
            {
                // Masked rows add nothing to the weight gradients: their gate gradients are zeros.
                mask.ClearGateGradients(s, r0, r1, dz.Slice(s * stepGates + r0 * g, n * g), g);
                if (!_stacked) mask.ClearGateGradients(s, r0, r1, dzRec.Slice(s * stepGates + r0 * g, n * g), g);
            }
            if (m > 0)
            {
                if (!_stacked)
                {
                    kernels.Gemm(false, false, 1, g, m, 1f, ones[..m], m, dzStep, g, 1f, biasSums[..g], g);
                    if (cell.HasRecurrentBias) kernels.Gemm(false, false, 1, g, m, 1f, ones[..m], m, dzRecStep, g, 1f, biasSums[g..], g);
                }
                float beta = 0f;
                if (cell.HasDirectStatePath)
                {
                    direct.Slice(at, m * h).CopyTo(dhCarry.Slice(at, m * h));
                    beta = 1f;
                }
                _backwardMatrix.Multiply(m, dzRecStep, g, beta, dhCarry.Slice(at, m * h), h);
            }
            mask?.PassGradients(s, r0, r1, dhCarry, cs.IsEmpty ? default : dcCarry);
        }
    }

    /// <summary>
    /// The gradient of [K; R; bias] summed over time-major rows [q0, q1) (overwriting), and
    /// dL/d(input) for those rows when <paramref name="inputGrad"/> is not empty. Other cells'
    /// bias gradient is the bias sums that <paramref name="part"/>'s backward loop gathered.
    /// </summary>
    private void Gradients(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> block, Span<float> blockGrad,
        Span<float> inputGrad, int q0, int q1, int part)
    {
        int h = _units, g = _gateWidth, f = inputWidth, w = _stackedWidth, n = q1 - q0;
        var dz = buf.DInput.AsSpan(q0 * g, n * g);
        var dzRec = _stacked ? dz : buf.DRecurrent.AsSpan(q0 * g, n * g);
        if (_stacked)
            // Rows [x, h_prev, 1]: dK, dR and the bias gradient (the ones column) in one product.
            kernels.Gemm(true, false, w, g, n, 1f, buf.Stacked.AsSpan(q0 * w, n * w), w, dz, g, 0f, blockGrad, g);
        else
        {
            kernels.Gemm(true, false, f, g, n, 1f, input.Slice(q0 * f, n * f), f, dz, g, 0f, blockGrad[..(f * g)], g);
            kernels.Gemm(true, false, h, g, n, 1f, buf.Hs.AsSpan(q0 * h, n * h), h, dzRec, g, 0f, blockGrad.Slice(f * g, h * g), g);
            var biasGrad = blockGrad[((f + h) * g)..];
            buf.BiasSums.AsSpan(part * 2 * g, biasGrad.Length).CopyTo(biasGrad);
        }
        if (!inputGrad.IsEmpty)
            kernels.Gemm(false, true, n, f, g, 1f, dz, g, Kernel(block), g, 0f, inputGrad.Slice(q0 * f, n * f), f);
    }
}
