using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
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
/// <para>
/// With more than one MKL thread (the GNU OpenMP layer), a pass runs on two threads of ours,
/// each with sequential MKL: the time loop is split by batch rows (rows never interact inside
/// the loop, so each half runs its own recurrent GEMMs and cell steps with no synchronisation
/// per timestep); the input projection and the weight gradients by time-major rows (each part
/// sums the gradients over its rows; the second part's sums are added after the join). MKL's
/// own OpenMP threads are not used by the layer: on small per-step GEMMs they synchronise
/// every call, and their spinning workers would compete with ours. With one MKL thread (the
/// default, and every local-mode worker) everything runs on the calling thread, as before.
/// </para>
/// </summary>
internal sealed unsafe class Unroller(IRecurrentCell cell, int inputWidth, IMathKernels kernels)
{
    /// <summary>Below this many batch rows per part a split costs more than it saves.</summary>
    private const int MinRowsPerPart = 8;

    private readonly int _units = cell.Units;
    private readonly int _gateWidth = cell.GateCount * cell.Units;
    private int _threads;

    // MKL only: the recurrent kernel in MKL's packed GEMM format, packed once per forward pass and
    // used by every timestep's product (saves packing it T times; same bits as the plain GEMM).
    private byte[]? _packedStorage;
    private float* _packed;

    private enum Phase
    {
        InputProjection,
        ForwardLoop,
        BackwardLoop,
        Gradients,
    }

    /// <summary>A span's memory, pinned by the caller for the duration of a split pass.</summary>
    private readonly struct Pinned(float* pointer, int length)
    {
        public Span<float> Span => new(pointer, length);
    }

    // The split pass in progress: set by the calling thread before the helper starts, read by both.
    private UnrollBuffers? _buf;
    private Phase _phase;
    private int _splitRow;
    private bool _returnSequences;
    private Pinned _input, _kernel, _recurrentKernel, _bias, _outputGrad, _kernelGrad, _recurrentKernelGrad, _biasGrad, _inputGrad;

    public IRecurrentCell Cell => cell;

    public UnrollBuffers Allocate(int batch, int timesteps, bool goBackwards) =>
        new(batch, timesteps, inputWidth, _units, _gateWidth, cell.StateCount, cell.CacheWidth,
            !cell.SharesInputGradient, goBackwards);

    /// <summary>Batch row at which a pass is cut in two, or 0 to run it on the calling thread only.</summary>
    private int SplitRow(int batch)
    {
        if (_threads == 0) _threads = kernels.Kind == MathKind.Mkl && Mkl.IsLoaded ? Math.Max(1, MklNative.GetMaxThreads()) : 1;
        return _threads >= 2 && batch >= 2 * MinRowsPerPart ? batch / 2 : 0;
    }

    /// <summary>
    /// MKL: packs R (H x G) for this pass's per-step products. The packed buffer is allocated on
    /// the first pass (pinned, 64-byte aligned, so MKL takes the same code path every time).
    /// </summary>
    private void PackRecurrentKernel(ReadOnlySpan<float> recurrentKernel, int batch)
    {
        if (kernels.Kind != MathKind.Mkl)
        {
            _packed = null;
            return;
        }
        int h = _units, g = _gateWidth;
        long size = (long)MklPacked.GetSize(MklPacked.BMatrix, batch, g, h);
        if (_packedStorage is null || _packedStorage.Length < size + 64)
        {
            _packedStorage = GC.AllocateUninitializedArray<byte>(checked((int)size + 64), pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_packedStorage));
            _packed = (float*)((start + 63) & ~(nint)63);
        }
        fixed (float* r = recurrentKernel)
            MklPacked.Pack(MklNative.RowMajor, MklPacked.BMatrix, MklNative.NoTrans, batch, g, h, 1f, r, g, _packed);
    }

    /// <summary>
    /// Runs all timesteps. <paramref name="input"/> is T*B x F in processing order; the initial
    /// states must already be in slot 0 of <see cref="UnrollBuffers.Hs"/> (and Cs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias)
    {
        int b = buf.Batch, rows = b * buf.Timesteps;
        int split = SplitRow(b);
        PackRecurrentKernel(recurrentKernel, b);
        if (split == 0)
        {
            InputProjection(buf, input, kernel, 0, rows);
            ForwardRows(buf, recurrentKernel, bias, 0, b);
            return;
        }
        fixed (float* pi = input)
        fixed (float* pk = kernel)
        fixed (float* pr = recurrentKernel)
        fixed (float* pb = bias)
        {
            _buf = buf;
            _splitRow = split;
            _input = new Pinned(pi, input.Length);
            _kernel = new Pinned(pk, kernel.Length);
            _recurrentKernel = new Pinned(pr, recurrentKernel.Length);
            _bias = new Pinned(pb, bias.Length);
            try
            {
                _phase = Phase.InputProjection;
                RowSplitter.Run(this);
                _phase = Phase.ForwardLoop;
                RowSplitter.Run(this);
            }
            finally
            {
                _buf = null;
                _input = _kernel = _recurrentKernel = _bias = default;
            }
        }
    }

    /// <summary>
    /// Backpropagation through time after <see cref="Forward"/> on the same buffers.
    /// <paramref name="outputGrad"/> is dL/d(output): T*B x H when the layer returns sequences,
    /// otherwise B x H for the last step. Writes the weight gradients (overwriting), dL/d(input)
    /// when <paramref name="inputGrad"/> is not empty, and leaves dL/d(initial states) in
    /// <see cref="UnrollBuffers.DHCarry"/> and <see cref="UnrollBuffers.DCCarry"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> outputGrad, bool returnSequences,
        Span<float> kernelGrad, Span<float> recurrentKernelGrad, Span<float> biasGrad, Span<float> inputGrad)
    {
        int b = buf.Batch, g = _gateWidth, rows = b * buf.Timesteps;
        int split = SplitRow(b);
        if (split == 0)
        {
            BackwardRows(buf, recurrentKernel, outputGrad, returnSequences, 0, b);
            Gradients(buf, input, kernel, kernelGrad, recurrentKernelGrad, biasGrad, inputGrad, 0, rows);
            return;
        }
        fixed (float* pi = input)
        fixed (float* pk = kernel)
        fixed (float* pr = recurrentKernel)
        fixed (float* po = outputGrad)
        fixed (float* pkg = kernelGrad)
        fixed (float* prg = recurrentKernelGrad)
        fixed (float* pbg = biasGrad)
        fixed (float* pig = inputGrad)
        {
            _buf = buf;
            _splitRow = split;
            _returnSequences = returnSequences;
            _input = new Pinned(pi, input.Length);
            _kernel = new Pinned(pk, kernel.Length);
            _recurrentKernel = new Pinned(pr, recurrentKernel.Length);
            _outputGrad = new Pinned(po, outputGrad.Length);
            _kernelGrad = new Pinned(pkg, kernelGrad.Length);
            _recurrentKernelGrad = new Pinned(prg, recurrentKernelGrad.Length);
            _biasGrad = new Pinned(pbg, biasGrad.Length);
            _inputGrad = new Pinned(pig, inputGrad.Length);
            try
            {
                _phase = Phase.BackwardLoop;
                RowSplitter.Run(this);
                _phase = Phase.Gradients;
                buf.EnsureSplitScratch(kernelGrad.Length + recurrentKernelGrad.Length + biasGrad.Length);
                RowSplitter.Run(this);
                var scratch = buf.SplitScratch.AsSpan();
                kernels.Axpy(1f, scratch[..kernelGrad.Length], kernelGrad);
                kernels.Axpy(1f, scratch.Slice(kernelGrad.Length, recurrentKernelGrad.Length), recurrentKernelGrad);
                kernels.Axpy(1f, scratch.Slice(kernelGrad.Length + recurrentKernelGrad.Length, biasGrad.Length), biasGrad);
            }
            finally
            {
                _buf = null;
                _input = _kernel = _recurrentKernel = _outputGrad = _kernelGrad = _recurrentKernelGrad = _biasGrad = _inputGrad = default;
            }
        }
    }

    /// <summary>Part 0 or part 1 of the split pass in progress (see <see cref="RowSplitter"/>).</summary>
    internal void RunPart(int part)
    {
        var buf = _buf!;
        int b = buf.Batch, rows = b * buf.Timesteps;
        // Batch rows [r0, r1) for the time loops; time-major rows [q0, q1) for the once-per-pass GEMMs.
        int r0 = part == 0 ? 0 : _splitRow, r1 = part == 0 ? _splitRow : b;
        int rowCut = rows / 2, q0 = part == 0 ? 0 : rowCut, q1 = part == 0 ? rowCut : rows;
        switch (_phase)
        {
            case Phase.InputProjection:
                InputProjection(buf, _input.Span, _kernel.Span, q0, q1);
                break;
            case Phase.ForwardLoop:
                ForwardRows(buf, _recurrentKernel.Span, _bias.Span, r0, r1);
                break;
            case Phase.BackwardLoop:
                BackwardRows(buf, _recurrentKernel.Span, _outputGrad.Span, _returnSequences, r0, r1);
                break;
            case Phase.Gradients:
                // Each part sums the weight gradients over its rows; part 1 into scratch, added after the join.
                if (part == 0) Gradients(buf, _input.Span, _kernel.Span, _kernelGrad.Span, _recurrentKernelGrad.Span, _biasGrad.Span, _inputGrad.Span, q0, q1);
                else
                {
                    var scratch = buf.SplitScratch.AsSpan();
                    int kl = _kernelGrad.Span.Length, rl = _recurrentKernelGrad.Span.Length, bl = _biasGrad.Span.Length;
                    Gradients(buf, _input.Span, _kernel.Span, scratch[..kl], scratch.Slice(kl, rl), scratch.Slice(kl + rl, bl), _inputGrad.Span, q0, q1);
                }
                break;
        }
    }

    /// <summary>Input projections x K of time-major rows [q0, q1) into the gate buffer.</summary>
    private void InputProjection(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel, int q0, int q1)
    {
        int g = _gateWidth, n = q1 - q0;
        if (n == 0) return;
        kernels.Gemm(false, false, n, g, inputWidth, 1f, input.Slice(q0 * inputWidth, n * inputWidth), inputWidth, kernel, g,
            0f, buf.Gates.AsSpan(q0 * g, n * g), g);
    }

    /// <summary>The time loop for batch rows [r0, r1): recurrent product, then the cell's fused step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardRows(UnrollBuffers buf, ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias, int r0, int r1)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, cw = cell.CacheWidth, n = r1 - r0;
        var gates = buf.Gates.AsSpan();
        var inputBias = bias[..g];
        var recurrentBias = cell.HasRecurrentBias ? bias.Slice(g, g) : default;
        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var rec = buf.Recurrent.AsSpan(r0 * g, n * g);
        int stepGates = b * g, stepState = b * h, stepCache = b * cw;
        for (int s = 0; s < t; s++)
        {
            var hPrev = hs.Slice(s * stepState + r0 * h, n * h);
            if (_packed is not null)
            {
                fixed (float* a = hPrev)
                fixed (float* c = rec)
                    MklPacked.Compute(MklNative.RowMajor, MklNative.NoTrans, MklPacked.Packed, n, g, h, a, h, _packed, g, 0f, c, g);
            }
            else kernels.Gemm(false, false, n, g, h, 1f, hPrev, h, recurrentKernel, g, 0f, rec, g);
            cell.Forward(new CellForward
            {
                Gates = gates.Slice(s * stepGates + r0 * g, n * g),
                Recurrent = rec,
                InputBias = inputBias,
                RecurrentBias = recurrentBias,
                HPrev = hPrev,
                CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState + r0 * h, n * h),
                H = hs.Slice((s + 1) * stepState + r0 * h, n * h),
                C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState + r0 * h, n * h),
                Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache + r0 * cw, n * cw),
            });
        }
    }

    /// <summary>Backpropagation through time for batch rows [r0, r1): dL/d(gates) of every step and dL/d(initial states).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardRows(UnrollBuffers buf, ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> outputGrad,
        bool returnSequences, int r0, int r1)
    {
        int b = buf.Batch, t = buf.Timesteps, h = _units, g = _gateWidth, cw = cell.CacheWidth, n = r1 - r0;
        int stepGates = b * g, stepState = b * h, stepCache = b * cw;
        var gates = buf.Gates.AsSpan();
        var hs = buf.Hs.AsSpan();
        var cs = buf.Cs.AsSpan();
        var cache = buf.Cache.AsSpan();
        var dz = buf.DInput.AsSpan();
        var dzRec = cell.SharesInputGradient ? dz : buf.DRecurrent.AsSpan();
        var dhCarry = buf.DHCarry.AsSpan(r0 * h, n * h);
        var dcCarry = buf.DCCarry.AsSpan(r0 * h, n * h);
        var dhStep = buf.DHStep.AsSpan(r0 * h, n * h);
        var direct = buf.Direct.AsSpan(r0 * h, n * h);

        dcCarry.Clear();
        if (returnSequences) dhCarry.Clear();
        else outputGrad.Slice(r0 * h, n * h).CopyTo(dhCarry);

        for (int s = t - 1; s >= 0; s--)
        {
            ReadOnlySpan<float> dh = dhCarry;
            if (returnSequences)
            {
                var fromOutput = outputGrad.Slice(s * stepState + r0 * h, n * h);
                for (int i = 0; i < dhStep.Length; i++) dhStep[i] = dhCarry[i] + fromOutput[i];
                dh = dhStep;
            }
            var dzStep = dz.Slice(s * stepGates + r0 * g, n * g);
            var dzRecStep = dzRec.Slice(s * stepGates + r0 * g, n * g);
            cell.Backward(new CellBackward
            {
                Gates = gates.Slice(s * stepGates + r0 * g, n * g),
                Cache = cache.IsEmpty ? default : cache.Slice(s * stepCache + r0 * cw, n * cw),
                HPrev = hs.Slice(s * stepState + r0 * h, n * h),
                CPrev = cs.IsEmpty ? default : cs.Slice(s * stepState + r0 * h, n * h),
                H = hs.Slice((s + 1) * stepState + r0 * h, n * h),
                C = cs.IsEmpty ? default : cs.Slice((s + 1) * stepState + r0 * h, n * h),
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
            kernels.Gemm(false, true, n, h, g, 1f, dzRecStep, g, recurrentKernel, g, beta, dhCarry, h);
        }
    }

    /// <summary>
    /// Weight gradients summed over time-major rows [q0, q1) (overwriting), and dL/d(input) for
    /// those rows when <paramref name="inputGrad"/> is not empty.
    /// </summary>
    private void Gradients(UnrollBuffers buf, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel, Span<float> kernelGrad,
        Span<float> recurrentKernelGrad, Span<float> biasGrad, Span<float> inputGrad, int q0, int q1)
    {
        int h = _units, g = _gateWidth, n = q1 - q0;
        var dz = buf.DInput.AsSpan(q0 * g, n * g);
        var dzRec = cell.SharesInputGradient ? dz : buf.DRecurrent.AsSpan(q0 * g, n * g);
        var ones = buf.Ones.AsSpan(0, n);
        kernels.Gemm(true, false, inputWidth, g, n, 1f, input.Slice(q0 * inputWidth, n * inputWidth), inputWidth, dz, g, 0f, kernelGrad, g);
        kernels.Gemm(true, false, h, g, n, 1f, buf.Hs.AsSpan(q0 * h, n * h), h, dzRec, g, 0f, recurrentKernelGrad, g);
        kernels.Gemm(false, false, 1, g, n, 1f, ones, n, dz, g, 0f, biasGrad[..g], g);
        if (cell.HasRecurrentBias)
            kernels.Gemm(false, false, 1, g, n, 1f, ones, n, dzRec, g, 0f, biasGrad.Slice(g, g), g);
        if (!inputGrad.IsEmpty)
            kernels.Gemm(false, true, n, inputWidth, g, 1f, dz, g, kernel, g, 0f, inputGrad.Slice(q0 * inputWidth, n * inputWidth), inputWidth);
    }
}

/// <summary>
/// Runs part 1 of a row-split pass on a helper thread while the caller runs part 0. One helper
/// for the process, started on first use and kept; waiting uses reusable events, so a split pass
/// allocates nothing. When the helper is busy with another caller's pass, the caller runs both
/// parts itself. Inside the parts MKL runs sequentially on each thread (its thread-local setting),
/// so the two threads do not each start an OpenMP team.
/// </summary>
internal static class RowSplitter
{
    private static readonly object Gate = new();
    private static readonly Signal Start = new();
    private static readonly Signal Done = new();
    private static Thread? _helper;
    private static Unroller? _work;
    private static Exception? _error;
    private static int _busy;

    public static void Run(Unroller work)
    {
        MklThreadsLocal.SequentialOnThisThread();
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Someone else's pass holds the helper: do both parts here.
            work.RunPart(0);
            work.RunPart(1);
            return;
        }
        try
        {
            EnsureHelper();
            _work = work;
            _error = null;
            Done.Reset();
            Start.Set();
            Exception? mine = null;
            try
            {
                work.RunPart(0);
            }
            catch (Exception e)
            {
                mine = e;
            }
            finally
            {
                Done.Wait();
                _work = null;
            }
            if (mine is not null) ExceptionDispatchInfo.Capture(mine).Throw();
            if (_error is { } helperError) ExceptionDispatchInfo.Capture(helperError).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void EnsureHelper()
    {
        if (_helper is not null) return;
        lock (Gate)
        {
            if (_helper is not null) return;
            _helper = new Thread(Loop) { IsBackground = true, Name = "rnncluster-row-split" };
            _helper.Start();
        }
    }

    private static void Loop()
    {
        MklThreadsLocal.SequentialOnThisThread();
        while (true)
        {
            Start.Wait();
            Start.Reset();
            try
            {
                _work!.RunPart(1);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Done.Set();
        }
    }
}

/// <summary>
/// A reusable manual-reset event that spins briefly, then blocks on a monitor; unlike
/// ManualResetEventSlim it never allocates on the managed heap (no lazily created lock object).
/// </summary>
internal sealed class Signal
{
    private readonly object _lock = new();
    private volatile bool _set;

    public void Set()
    {
        lock (_lock)
        {
            _set = true;
            Monitor.Pulse(_lock);
        }
    }

    public void Reset() => _set = false;

    /// <summary>Waits until set; leaves it set (call <see cref="Reset"/>).</summary>
    public void Wait()
    {
        for (int i = 0; i < 1000 && !_set; i++) Thread.SpinWait(10);
        if (_set) return;
        lock (_lock)
        {
            while (!_set) Monitor.Wait(_lock);
        }
    }
}

/// <summary>MKL's packed GEMM (cblas_sgemm_pack / cblas_sgemm_compute) for the per-step recurrent product.</summary>
internal static unsafe class MklPacked
{
    public const int AMatrix = 161;
    public const int BMatrix = 162;
    public const int Packed = 151;

    [DllImport(MklNative.Library, EntryPoint = "cblas_sgemm_pack_get_size")]
    public static extern nuint GetSize(int identifier, int m, int n, int k);

    [DllImport(MklNative.Library, EntryPoint = "cblas_sgemm_pack")]
    public static extern void Pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, float* source, int ld, float* destination);

    [DllImport(MklNative.Library, EntryPoint = "cblas_sgemm_compute")]
    public static extern void Compute(int layout, int transA, int transB, int m, int n, int k, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc);
}

/// <summary>
/// MKL's per-thread thread count. A thread that runs part of a split pass keeps MKL sequential
/// from then on (for every MKL call it makes, not only the layer's): an OpenMP team started by
/// any MKL call on it would leave a worker thread spinning on the second core, which then slows
/// the helper's half of the next pass down to a crawl (measured: 40 ms instead of 14 ms per step).
/// </summary>
internal static class MklThreadsLocal
{
    [ThreadStatic]
    private static bool _sequential;

    public static void SequentialOnThisThread()
    {
        if (_sequential) return;
        MklSetNumThreadsLocal(1);
        _sequential = true;
    }

    [DllImport(MklNative.Library, EntryPoint = "MKL_Set_Num_Threads_Local")]
    private static extern int MklSetNumThreadsLocal(int threads);
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
