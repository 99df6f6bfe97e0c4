using System.Diagnostics;
using RnnCluster.Model;
using RnnCluster.Model.Cells;
using RnnCluster.Numerics;

namespace RnnCluster.Bench;

/// <summary>
/// Where a training step's time goes: the engine's pieces (the GEMMs the unroller issues, the
/// cells' fused loops, the optimizer) timed one by one on buffers of the step's shapes, next to
/// the whole step. Each piece is repeated and its median kept.
/// </summary>
public static class ProfileStep
{
    public static void Run(string cell, int b, int t, int d, int h, IMathKernels kernels, int iterations, TextWriter output)
    {
        IRecurrentCell c = cell switch
        {
            LayerKinds.Lstm => new LstmCell(h),
            LayerKinds.Gru => new GruCell(h),
            _ => new SimpleRnnCell(h, Activation.Tanh),
        };
        int g = c.GateCount * h, rows = b * t;
        var random = new Random(1);
        float[] Fill(int n, float scale = 0.2f)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = ((float)random.NextDouble() - 0.5f) * scale;
            return a;
        }
        var x = Fill(rows * d);
        var k = Fill(d * g);
        var r = Fill(h * g);
        var bias = Fill(2 * g);
        var gates = Fill(rows * g);
        var gatesCopy = (float[])gates.Clone();
        var hs = Fill((t + 1) * b * h);
        var cs = Fill((t + 1) * b * h);
        var cache = Fill(rows * h);
        var rec = Fill(b * g);
        var dz = Fill(rows * g);
        var dzr = Fill(rows * g);
        var dh = Fill(b * h);
        var dc = Fill(b * h);
        var direct = Fill(b * h);
        var kg = new float[d * g];
        var rg = new float[h * g];
        var bg = new float[2 * g];
        var ones = new float[rows];
        Array.Fill(ones, 1f);
        var step = new TrainingStep(cell, b, t, d, h, kernels);
        var adam = new Adam(1e-3f);
        int p = step.ParameterCount;
        var parameters = Fill(p);
        var wg = Fill(p, 1e-3f);

        double Time(Action a)
        {
            a();
            var times = new double[iterations];
            for (int i = 0; i < iterations; i++)
            {
                long start = Stopwatch.GetTimestamp();
                a();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            return times[iterations / 2];
        }

        // What the unroller issues: cells that sum the projections (SimpleRNN, LSTM) get one
        // product per step over stacked rows [x, h_prev, 1] and one stacked gradient GEMM (bias
        // included); GRU gets the input projection of all steps at once plus h_prev R per step. The
        // profile times the plain GEMM (the unroller uses MKL's packed form of the same product).
        bool stacked = c.SumsProjections;
        int w = d + h + 1;
        var stackedRows = Fill(rows * w);
        var stackedKernel = Fill(w * g);
        var stackedGrad = new float[w * g];
        var parts = new List<(string Name, double Ms, double Flops)>();
        if (stacked)
            parts.Add(("stacked GEMM fwd x T", Time(() =>
            {
                for (int s = 0; s < t; s++)
                    kernels.Gemm(false, false, b, g, w, 1f, stackedRows.AsSpan(s * b * w, b * w), w, stackedKernel, g, 0f, gates.AsSpan(s * b * g, b * g), g);
            }), 2.0 * rows * g * w));
        else
        {
            parts.Add(("input projection GEMM", Time(() => kernels.Gemm(false, false, rows, g, d, 1f, x, d, k, g, 0f, gates, g)), 2.0 * rows * g * d));
            parts.Add(("recurrent GEMM fwd x T", Time(() =>
            {
                for (int s = 0; s < t; s++) kernels.Gemm(false, false, b, g, h, 1f, hs.AsSpan(s * b * h, b * h), h, r, g, 0f, rec, g);
            }), 2.0 * rows * g * h));
        }
        parts.Add(("cell forward x T (incl. gate refill)", Time(() =>
        {
            gatesCopy.CopyTo(gates, 0);
            for (int s = 0; s < t; s++)
                c.Forward(new CellForward
                {
                    Gates = gates.AsSpan(s * b * g, b * g), Recurrent = stacked ? default : rec,
                    InputBias = stacked ? default : bias.AsSpan(0, g), RecurrentBias = bias.AsSpan(g, g),
                    HPrev = hs.AsSpan(s * b * h, b * h), CPrev = cs.AsSpan(s * b * h, b * h),
                    H = hs.AsSpan((s + 1) * b * h, b * h), C = cs.AsSpan((s + 1) * b * h, b * h), Cache = cache.AsSpan(s * b * h, b * h),
                });
        }), 0));
        parts.Add(("cell backward x T", Time(() =>
        {
            for (int s = t - 1; s >= 0; s--)
                c.Backward(new CellBackward
                {
                    Gates = gates.AsSpan(s * b * g, b * g), Cache = cache.AsSpan(s * b * h, b * h),
                    HPrev = hs.AsSpan(s * b * h, b * h), CPrev = cs.AsSpan(s * b * h, b * h),
                    H = hs.AsSpan((s + 1) * b * h, b * h), C = cs.AsSpan((s + 1) * b * h, b * h),
                    DH = dh, DC = dc, DInput = dz.AsSpan(s * b * g, b * g), DRecurrent = dzr.AsSpan(s * b * g, b * g), DHPrevDirect = direct,
                });
        }), 0));
        parts.Add(("recurrent GEMM bwd x T", Time(() =>
        {
            for (int s = t - 1; s >= 0; s--) kernels.Gemm(false, true, b, h, g, 1f, dz.AsSpan(s * b * g, b * g), g, r, g, 0f, dh, h);
        }), 2.0 * rows * g * h));
        if (stacked)
            parts.Add(("stacked weight gradient GEMM", Time(() => kernels.Gemm(true, false, w, g, rows, 1f, stackedRows, w, dz, g, 0f, stackedGrad, g)), 2.0 * rows * g * w));
        else
        {
            parts.Add(("kernel gradient GEMM", Time(() => kernels.Gemm(true, false, d, g, rows, 1f, x, d, dz, g, 0f, kg, g)), 2.0 * rows * g * d));
            parts.Add(("recurrent kernel gradient GEMM", Time(() => kernels.Gemm(true, false, h, g, rows, 1f, hs.AsSpan(0, rows * h), h, dz, g, 0f, rg, g)), 2.0 * rows * g * h));
        }
        if (!stacked)
            parts.Add(("bias gradient (ones GEMM) x 2", Time(() =>
            {
                kernels.Gemm(false, false, 1, g, rows, 1f, ones, rows, dz, g, 0f, bg.AsSpan(0, g), g);
                kernels.Gemm(false, false, 1, g, rows, 1f, ones, rows, dzr, g, 0f, bg.AsSpan(g, g), g);
            }), 4.0 * rows * g));
        parts.Add(("Adam update", Time(() => adam.Step(parameters, wg)), 0));
        double whole = Time(() => step.Run());
        double sum = parts.Sum(x => x.Ms);
        output.WriteLine($"{cell} B={b} T={t} D={d} H={h} ({kernels.Kind}): whole step {whole:0.00} ms, sum of parts {sum:0.00} ms");
        foreach (var (name, ms, flops) in parts)
            output.WriteLine($"  {name,-38} {ms,8:0.000} ms {100 * ms / whole,5:0.0}%" + (flops > 0 ? $"  {flops / (ms * 1e6),6:0.0} GFLOP/s" : ""));
    }
}
