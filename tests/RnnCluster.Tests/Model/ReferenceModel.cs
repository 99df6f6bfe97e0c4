using RnnCluster.Model;

namespace RnnCluster.Tests.Model;

/// <summary>Result of a reference forward pass: the prediction (batch-major) and each state slot's final value.</summary>
public sealed record ReferenceOutput(double[] Output, int[] Shape, IReadOnlyList<double[]> FinalStates)
{
    /// <summary>The output's mask, [b][t] (true = kept), when the output is a masked sequence.</summary>
    public bool[][]? Mask { get; init; }
}

/// <summary>
/// An independent, deliberately plain double-precision implementation of the models the engine
/// runs: Keras's SimpleRNN (tanh/relu), LSTM (gates i, f, c, o), GRU (reset_after=True, gates
/// z, r, h), Dense on the last axis, return_sequences, go_backwards and initial states, and every
/// loss of <see cref="Losses"/>. It shares no code with the engine: one row at a time, one
/// timestep at a time, no GEMMs, no buffers. Weights are looked up by their Keras name
/// (<c>layer0.kernel</c>, ...) in a dictionary of doubles that callers may perturb (finite differences).
/// </summary>
public sealed class ReferenceModel
{
    public ReferenceModel(ModelSpec spec, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        Spec = spec;
        Weights = weights.ToDictionary(p => p.Key, p => p.Value.Data.Select(v => (double)v).ToArray());
        var slots = new List<(int Layer, int State, int Units)>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            if (!IsRecurrent(l.Kind)) continue;
            slots.Add((i, 0, l.Units));
            if (l.Kind == "lstm") slots.Add((i, 1, l.Units));
        }
        StateSlots = slots;
    }

    /// <summary>The reference of a built engine model, with its current weights.</summary>
    public static ReferenceModel Of(Sequential model) => new(model.Spec, model.GetWeights());

    public ModelSpec Spec { get; }

    /// <summary>Weights by Keras name, row-major, as doubles; mutable on purpose.</summary>
    public Dictionary<string, double[]> Weights { get; }

    /// <summary>h (and c for LSTM) of each recurrent layer, in layer order (the engine's StateSlots order).</summary>
    public IReadOnlyList<(int Layer, int State, int Units)> StateSlots { get; }

    private static bool IsRecurrent(string kind) => kind is "simple_rnn" or "lstm" or "gru";

    /// <summary>
    /// Runs the model on x (batch-major B x T x D). <paramref name="initialStates"/> holds one
    /// B x H array per state slot (null list or null entry: zeros).
    /// </summary>
    public ReferenceOutput Forward(double[] x, int batch, int timesteps, IReadOnlyList<double[]?>? initialStates = null)
    {
        int width = Spec.InputFeatures;
        if (x.Length != batch * timesteps * width) throw new ArgumentException("x does not match (B, T, D)");

        // seq[b][t] = the vector of row b at timestep t; vec[b] when the time axis is gone.
        double[][][]? seq = new double[batch][][];
        double[][]? vec = null;
        for (int b = 0; b < batch; b++)
        {
            seq[b] = new double[timesteps][];
            for (int t = 0; t < timesteps; t++) seq[b][t] = x.AsSpan((b * timesteps + t) * width, width).ToArray();
        }

        var finals = new List<double[]>();
        int slot = 0;
        // Keras masking: mask[b][t] = keep step t of row b; carried from layer to layer.
        bool[][]? mask = null;
        for (int i = 0; i < Spec.Layers.Count; i++)
        {
            var layer = Spec.Layers[i];
            string name = Spec.LayerName(i);
            if (layer.Kind == "masking")
            {
                double value = layer.MaskValue ?? 0f;
                mask = [.. seq!.Select(row => row.Select(v => v.Any(e => e != value)).ToArray())];
                for (int b = 0; b < batch; b++)
                    for (int t = 0; t < timesteps; t++)
                        if (!mask[b][t]) seq![b][t] = new double[width];
                continue;
            }
            if (layer.Kind == "embedding")
            {
                // Keras Embedding: row id of the table; mask_zero masks token 0.
                var table = Weights[name + ".embeddings"];
                int e = layer.OutputDim!.Value;
                var ids = seq!.Select(row => row.Select(v => (int)v[0]).ToArray()).ToArray();
                seq = [.. ids.Select(row => row.Select(id => table.AsSpan(id * e, e).ToArray()).ToArray())];
                if (layer.MaskZero) mask = [.. ids.Select(row => row.Select(id => id != 0).ToArray())];
                width = e;
                continue;
            }
            if (IsRecurrent(layer.Kind))
            {
                if (seq is null) throw new InvalidOperationException("a recurrent layer needs a sequence");
                int h = layer.Units;
                var kernel = Weights[name + ".kernel"];
                var recurrent = Weights[name + ".recurrent_kernel"];
                var bias = Weights[name + ".bias"];
                var h0 = StateOrZeros(initialStates, slot++, batch, h);
                var c0 = layer.Kind == "lstm" ? StateOrZeros(initialStates, slot++, batch, h) : null;
                var outputs = new double[batch][][];
                var finalH = new double[batch * h];
                var finalC = new double[batch * h];
                for (int b = 0; b < batch; b++)
                {
                    var hPrev = h0.AsSpan(b * h, h).ToArray();
                    var cPrev = c0?.AsSpan(b * h, h).ToArray();
                    outputs[b] = new double[timesteps][];
                    // Keras rnn(): a masked step keeps the states and the previous output, which starts at zeros.
                    var previousOutput = new double[h];
                    for (int s = 0; s < timesteps; s++)
                    {
                        int t = layer.GoBackwards ? timesteps - 1 - s : s;
                        if (mask is not null && !mask[b][t])
                        {
                            outputs[b][s] = previousOutput;
                            continue;
                        }
                        var xt = seq[b][t];
                        switch (layer.Kind)
                        {
                            case "simple_rnn":
                                hPrev = SimpleRnnStep(xt, hPrev, kernel, recurrent, bias, width, h, layer.Activation ?? "tanh");
                                break;
                            case "lstm":
                                (hPrev, cPrev) = LstmStep(xt, hPrev, cPrev!, kernel, recurrent, bias, width, h);
                                break;
                            default:
                                hPrev = GruStep(xt, hPrev, kernel, recurrent, bias, width, h);
                                break;
                        }
                        outputs[b][s] = previousOutput = hPrev;
                    }
                    hPrev.CopyTo(finalH, b * h);
                    cPrev?.CopyTo(finalC, b * h);
                }
                finals.Add(finalH);
                if (layer.Kind == "lstm") finals.Add(finalC);
                if (layer.ReturnSequences)
                {
                    seq = outputs;
                    vec = null;
                }
                else
                {
                    vec = [.. outputs.Select(o => o[timesteps - 1])];
                    seq = null;
                    mask = null;
                }
                width = h;
            }
            else
            {
                var kernel = Weights[name + ".kernel"];
                var bias = Weights[name + ".bias"];
                string act = layer.Activation ?? "linear";
                int o = layer.Units;
                if (seq is not null) seq = [.. seq.Select(row => row.Select(v => Dense(v, kernel, bias, width, o, act)).ToArray())];
                else vec = [.. vec!.Select(v => Dense(v, kernel, bias, width, o, act))];
                width = o;
            }
        }

        if (seq is not null)
            return new ReferenceOutput([.. seq.SelectMany(row => row.SelectMany(v => v))], [batch, timesteps, width], finals) { Mask = mask };
        return new ReferenceOutput([.. vec!.SelectMany(v => v)], [batch, width], finals);
    }

    /// <summary>
    /// Keras's loss of a batch (the mean, not a sum): over rows, or, for a masked output
    /// sequence, over the unmasked (row, step) vectors of the whole batch.
    /// </summary>
    public double MeanLoss(string loss, bool fromLogits, double[] x, int batch, int timesteps, double[] y,
        IReadOnlyList<double[]?>? initialStates = null)
    {
        var output = Forward(x, batch, timesteps, initialStates);
        if (output.Mask is not { } mask) return LossSum(loss, fromLogits, output.Output, output.Shape, y) / batch;
        int width = output.Shape[^1];
        bool sparse = loss == "sparse_categorical_crossentropy";
        int tw = sparse ? 1 : width;
        double total = 0;
        int kept = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < timesteps; t++)
            {
                if (!mask[b][t]) continue;
                int v = b * timesteps + t;
                var p = output.Output.AsSpan(v * width, width).ToArray();
                var target = new double[width];
                if (sparse) target[(int)y[v]] = 1;
                else y.AsSpan(v * tw, tw).CopyTo(target);
                total += VectorLoss(loss, fromLogits, p, target);
                kept++;
            }
        return kept == 0 ? 0 : total / kept;
    }

    /// <summary>Forward pass, then <see cref="LossSum"/>: the sum over rows of each row's loss.</summary>
    public double Loss(string loss, bool fromLogits, double[] x, int batch, int timesteps, double[] y,
        IReadOnlyList<double[]?>? initialStates = null)
    {
        var output = Forward(x, batch, timesteps, initialStates);
        return LossSum(loss, fromLogits, output.Output, output.Shape, y);
    }

    private static double[] StateOrZeros(IReadOnlyList<double[]?>? states, int slot, int batch, int units)
    {
        var s = states?[slot];
        if (s is null) return new double[batch * units];
        if (s.Length != batch * units) throw new ArgumentException($"state {slot} has {s.Length} values, expected {batch * units}");
        return s;
    }

    // ---- cells (Keras equations, one row, one timestep) ----

    /// <summary>out[j] = sum_i v[i] * m[i, j] for a row-major (rows x cols) matrix stored from <paramref name="offset"/>.</summary>
    private static double[] VecMat(double[] v, double[] m, int cols, int offset = 0)
    {
        var result = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double sum = 0;
            for (int i = 0; i < v.Length; i++) sum += v[i] * m[offset + i * cols + j];
            result[j] = sum;
        }
        return result;
    }

    private static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));

    private static double[] SimpleRnnStep(double[] x, double[] hPrev, double[] k, double[] r, double[] b, int d, int h, string activation)
    {
        var a = VecMat(x, k, h);
        var rec = VecMat(hPrev, r, h);
        var result = new double[h];
        for (int j = 0; j < h; j++)
        {
            double z = a[j] + rec[j] + b[j];
            result[j] = activation switch
            {
                "tanh" => Math.Tanh(z),
                "relu" => Math.Max(z, 0),
                _ => throw new ArgumentException($"SimpleRNN activation {activation}"),
            };
        }
        return result;
    }

    private static (double[] H, double[] C) LstmStep(double[] x, double[] hPrev, double[] cPrev, double[] k, double[] r, double[] b, int d, int h)
    {
        var zx = VecMat(x, k, 4 * h);
        var zh = VecMat(hPrev, r, 4 * h);
        var hNew = new double[h];
        var cNew = new double[h];
        for (int j = 0; j < h; j++)
        {
            double zi = zx[j] + zh[j] + b[j];
            double zf = zx[h + j] + zh[h + j] + b[h + j];
            double zc = zx[2 * h + j] + zh[2 * h + j] + b[2 * h + j];
            double zo = zx[3 * h + j] + zh[3 * h + j] + b[3 * h + j];
            double i = Sigmoid(zi), f = Sigmoid(zf), g = Math.Tanh(zc), o = Sigmoid(zo);
            cNew[j] = f * cPrev[j] + i * g;
            hNew[j] = o * Math.Tanh(cNew[j]);
        }
        return (hNew, cNew);
    }

    private static double[] GruStep(double[] x, double[] hPrev, double[] k, double[] r, double[] b, int d, int h)
    {
        // bias is (2, 3H): row 0 input bias, row 1 recurrent bias (reset_after=True).
        var mx = VecMat(x, k, 3 * h);
        var mh = VecMat(hPrev, r, 3 * h);
        var result = new double[h];
        for (int j = 0; j < h; j++)
        {
            double mxz = mx[j] + b[j], mxr = mx[h + j] + b[h + j], mxh = mx[2 * h + j] + b[2 * h + j];
            double mhz = mh[j] + b[3 * h + j], mhr = mh[h + j] + b[4 * h + j], mhh = mh[2 * h + j] + b[5 * h + j];
            double z = Sigmoid(mxz + mhz);
            double rr = Sigmoid(mxr + mhr);
            double hh = Math.Tanh(mxh + rr * mhh);
            result[j] = z * hPrev[j] + (1 - z) * hh;
        }
        return result;
    }

    private static double[] Dense(double[] v, double[] k, double[] b, int inWidth, int units, string activation)
    {
        var a = VecMat(v, k, units);
        for (int j = 0; j < units; j++) a[j] += b[j];
        switch (activation)
        {
            case "linear":
                break;
            case "tanh":
                for (int j = 0; j < units; j++) a[j] = Math.Tanh(a[j]);
                break;
            case "relu":
                for (int j = 0; j < units; j++) a[j] = Math.Max(a[j], 0);
                break;
            case "sigmoid":
                for (int j = 0; j < units; j++) a[j] = Sigmoid(a[j]);
                break;
            case "softmax":
                double max = a.Max(), sum = 0;
                for (int j = 0; j < units; j++) sum += a[j] = Math.Exp(a[j] - max);
                for (int j = 0; j < units; j++) a[j] /= sum;
                break;
            default:
                throw new ArgumentException($"Dense activation {activation}");
        }
        return a;
    }

    // ---- losses (Keras conventions) ----

    /// <summary>
    /// Keras clips probabilities to [epsilon, 1 - epsilon] with epsilon = 1e-7, computed in float32:
    /// the bounds are float32(1e-7) and float32(1 - 1e-7) = 1 - 2^-23 (1 - 1e-7 is not a float).
    /// </summary>
    public const double ClipLow = (double)1e-7f;

    public const double ClipHigh = (double)(1f - 1e-7f);

    /// <summary>
    /// Sum over rows of each row's loss; a row's loss is the mean over its timesteps (1 without a
    /// time axis) of the per-vector loss. <paramref name="y"/> holds one target vector per
    /// prediction vector, or one class index per vector for sparse_categorical_crossentropy.
    /// </summary>
    public static double LossSum(string loss, bool fromLogits, double[] pred, int[] predShape, double[] y)
    {
        int width = predShape[^1], rows = predShape[0];
        int vectors = pred.Length / width;
        int perRow = vectors / rows;
        bool sparse = loss == "sparse_categorical_crossentropy";
        if (y.Length != (sparse ? vectors : pred.Length)) throw new ArgumentException("y does not match the prediction");
        double total = 0;
        for (int v = 0; v < vectors; v++)
        {
            var p = pred.AsSpan(v * width, width).ToArray();
            double[] t;
            if (sparse)
            {
                t = new double[width];
                t[(int)y[v]] = 1;
            }
            else t = y.AsSpan(v * width, width).ToArray();
            total += VectorLoss(loss, fromLogits, p, t);
        }
        return total / perRow;
    }

    public static double VectorLoss(string loss, bool fromLogits, double[] p, double[] y)
    {
        int n = p.Length;
        switch (loss)
        {
            case "mse":
                return Enumerable.Range(0, n).Sum(i => (p[i] - y[i]) * (p[i] - y[i])) / n;
            case "mae":
                return Enumerable.Range(0, n).Sum(i => Math.Abs(p[i] - y[i])) / n;
            case "binary_crossentropy":
                double bce = 0;
                for (int i = 0; i < n; i++)
                {
                    if (fromLogits)
                        // -y log sig(z) - (1 - y) log(1 - sig(z)) = y softplus(-z) + (1 - y) softplus(z)
                        bce += y[i] * Softplus(-p[i]) + (1 - y[i]) * Softplus(p[i]);
                    else
                    {
                        double q = Math.Clamp(p[i], ClipLow, ClipHigh);
                        bce += -(y[i] * Math.Log(q) + (1 - y[i]) * Math.Log(1 - q));
                    }
                }
                return bce / n;
            case "categorical_crossentropy":
            case "sparse_categorical_crossentropy":
                double[] logQ;
                if (fromLogits)
                {
                    double max = p.Max();
                    double lse = max + Math.Log(p.Sum(z => Math.Exp(z - max)));
                    logQ = [.. p.Select(z => z - lse)];
                }
                else
                {
                    double total = p.Sum();
                    logQ = [.. p.Select(v => Math.Log(Math.Clamp(v / total, ClipLow, ClipHigh)))];
                }
                return -Enumerable.Range(0, n).Sum(i => y[i] * logQ[i]);
            default:
                throw new ArgumentException($"unknown loss {loss}");
        }
    }

    private static double Softplus(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
}

/// <summary>Seeded random data for the model tests (float-representable values, so engine and reference see the same numbers).</summary>
public static class ModelTestData
{
    public static Tensor Uniform(Random random, double low, double high, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(low + (high - low) * random.NextDouble());
        return t;
    }

    /// <summary>Every weight of the model replaced by uniform values in [-scale, scale].</summary>
    public static void RandomizeWeights(Sequential model, Random random, double scale = 0.5) =>
        model.SetWeights([.. model.GetWeights().Select(w => new KeyValuePair<string, Tensor>(w.Key, Uniform(random, -scale, scale, w.Value.Shape)))]);

    /// <summary>One (B, H) tensor per state slot, uniform in [-scale, scale].</summary>
    public static List<Tensor> RandomStates(Sequential model, Random random, int batch, double scale = 0.5) =>
        [.. model.Network.StateSlots.Select(s => Uniform(random, -scale, scale, batch, s.Units))];

    public static double[] Doubles(this Tensor t) => [.. t.Data.Select(v => (double)v)];

    public static double[] Doubles(this float[] values) => [.. values.Select(v => (double)v)];

    /// <summary>x[:, start:start+count, :] of a (B, T, F) tensor.</summary>
    public static Tensor TimeSlice(Tensor x, int start, int count)
    {
        int b = x.Shape[0], t = x.Shape[1], f = x.Shape[2];
        var result = Tensor.Zeros(b, count, f);
        for (int r = 0; r < b; r++)
            x.Data.AsSpan((r * t + start) * f, count * f).CopyTo(result.Data.AsSpan(r * count * f, count * f));
        return result;
    }

    /// <summary>Largest |a - e| / (rel * max(|e|, floor)) over the elements: at most 1 means within tolerance.</summary>
    public static double WorstRatio(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double rel, double floor)
    {
        if (expected.Length != actual.Length) throw new ArgumentException($"lengths differ: {expected.Length} vs {actual.Length}");
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double ratio = Math.Abs(actual[i] - expected[i]) / (rel * Math.Max(Math.Abs(expected[i]), floor));
            if (double.IsNaN(ratio)) return double.PositiveInfinity;
            worst = Math.Max(worst, ratio);
        }
        return worst;
    }

    /// <summary>Asserts |a - e| &lt;= rel * max(|e|, floor) element-wise, naming the first offender.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double rel, double floor, string what)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = rel * Math.Max(Math.Abs(expected[i]), floor);
            if (!(Math.Abs(actual[i] - expected[i]) <= tol))
                Xunit.Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {Math.Abs(actual[i] - expected[i]):E3} > tolerance {tol:E3})");
        }
    }
}
