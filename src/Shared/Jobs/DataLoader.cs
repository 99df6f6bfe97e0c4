using System.Globalization;
using System.IO.Compression;
using System.Text;
using RnnCluster.Data;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Jobs;

/// <summary>
/// A job's data in the engine's layout: x (N, T, D) float32; y (N, O), (N, T, O) or (N, 1) class
/// indices; one initial-state tensor (N, units) per model state slot (empty when the data has none).
/// </summary>
public sealed record Dataset(Tensor X, Tensor Y, IReadOnlyList<Tensor> InitialStates, string Description)
{
    public int Rows => X.Shape[0];
    public int Timesteps => X.Shape[1];
    public int Features => X.Shape[2];

    /// <summary>Names of x's features (last axis), when the source names them.</summary>
    public IReadOnlyList<string> FeatureNames { get; init; } = [];

    /// <summary>Names of y's columns (last axis), when the source names them.</summary>
    public IReadOnlyList<string> TargetNames { get; init; } = [];

    /// <summary>The standardisation applied (data.scale "standard"), to map predictions back; null when unscaled.</summary>
    public Standardization? Scaling { get; init; }

    /// <summary>Per-row sequence lengths (npz <c>lengths</c>), or null when every row uses all timesteps; see <see cref="SequenceLengths"/>.</summary>
    public int[]? Lengths { get; init; }
}

/// <summary>
/// Per-feature and per-target mean and standard deviation, computed on the training rows:
/// scaled = (value - mean) / std. Flag features (<c>_missing</c>) keep mean 0 and std 1.
/// <see cref="TargetMean"/> is empty when the targets were not scaled (class labels).
/// </summary>
public sealed record Standardization(
    IReadOnlyList<double> FeatureMean, IReadOnlyList<double> FeatureStd,
    IReadOnlyList<double> TargetMean, IReadOnlyList<double> TargetStd)
{
    /// <summary>Maps scaled predictions (..., O) back to data units, in a new tensor.</summary>
    public Tensor UnscaleTargets(Tensor scaled)
    {
        if (TargetMean.Count == 0) return scaled.Clone();
        int o = TargetMean.Count;
        if (scaled.Shape[^1] != o)
            throw new ArgumentException($"predictions have shape {Tensor.FormatShape(scaled.Shape)}; expected a last axis of {o}");
        var result = scaled.Clone();
        for (int i = 0; i < result.Length; i++)
            result.Data[i] = (float)(result.Data[i] * TargetStd[i % o] + TargetMean[i % o]);
        return result;
    }

    /// <summary>Scales raw features (..., D) as the training data was scaled, in a new tensor.</summary>
    public Tensor ScaleFeatures(Tensor raw)
    {
        int d = FeatureMean.Count;
        if (raw.Shape[^1] != d)
            throw new ArgumentException($"features have shape {Tensor.FormatShape(raw.Shape)}; expected a last axis of {d}");
        var result = raw.Clone();
        for (int i = 0; i < result.Length; i++)
            result.Data[i] = (float)((result.Data[i] - FeatureMean[i % d]) / FeatureStd[i % d]);
        return result;
    }
}

/// <summary>What loading needs to know besides the <see cref="DataSpec"/>.</summary>
public sealed record DataLoadOptions
{
    /// <summary>Builtin data: the model's state sizes, one per state slot (see <see cref="BuiltinData.StateUnits"/>).</summary>
    public IReadOnlyList<int>? StateUnits { get; init; }

    /// <summary>Builtin data: the generator's seed.</summary>
    public int Seed { get; init; }

    /// <summary>The fraction of rows (the last ones) held out for validation: scaling statistics come from the others.</summary>
    public double ValidationSplit { get; init; }
}

/// <summary>
/// Loads a job's data (<see cref="DataSpec"/>) and checks it fits the model. Every problem is a
/// <see cref="JobException"/> with a one-line message naming the file, row, column or shape.
/// </summary>
public static class DataLoader
{
    /// <summary>Loads data as <paramref name="spec"/> describes it; <paramref name="source"/> (the job file) prefixes errors not tied to a data file.</summary>
    public static Dataset Load(DataSpec spec, string source) => Load(spec, source, new DataLoadOptions());

    public static Dataset Load(DataSpec spec, string source, DataLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        spec.Validate(source);
        return spec.Source switch
        {
            DataSpec.BuiltinSource => LoadBuiltin(spec, source, options),
            DataSpec.CsvSource => CsvLoader.Load(spec, options),
            DataSpec.NpzSource => LoadNpz(spec),
            _ => throw new JobException($"{source}: unknown data source '{spec.Source}'"),
        };
    }

    /// <summary>Loads a job's data with what the job knows: its model's state sizes, seed and validation split.</summary>
    public static Dataset Load(JobSpec job, string source)
    {
        ArgumentNullException.ThrowIfNull(job);
        IReadOnlyList<int>? units = null;
        if (job.Data.Source == DataSpec.BuiltinSource) units = BuiltinData.StateUnits(job.ModelFor(1));
        var data = Load(job.Data, source, new DataLoadOptions { StateUnits = units, Seed = job.Seed, ValidationSplit = job.ValidationSplit });
        return data.Lengths is null ? data : SequenceLengths.Pad(data, job.ModelFor(data.Features));
    }

    /// <summary>
    /// Checks the data fits the model, the loss and the state policy: feature count, y's shape,
    /// class indices for sparse losses, and for from_data one (N, units) initial state per state slot.
    /// </summary>
    public static void CheckFits(Dataset d, ModelSpec model, ILoss loss, StatePolicyKind policy)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        if (d.X.Rank != 3)
            throw new JobException($"x has shape {Tensor.FormatShape(d.X.Shape)}; expected (samples, timesteps, features)");
        int n = d.X.Shape[0], t = d.X.Shape[1], features = d.X.Shape[2];
        if (features != model.InputFeatures)
            throw new JobException($"the data has {features} feature(s) per timestep (x {Tensor.FormatShape(d.X.Shape)}) but the model expects {model.InputFeatures} (input_features)");
        Network network;
        try
        {
            network = new Network(model, new ManagedKernels());
        }
        catch (ModelException e)
        {
            throw new JobException(e.Message);
        }

        var expected = network.TargetShape(loss, n, t);
        int expectedLength = expected.Aggregate(1, (a, b) => a * b);
        bool classIndicesWithoutAxis = expected[^1] == 1 && d.Y.Length == expectedLength && d.Y.Rank >= 1 && d.Y.Shape[0] == n;
        if (!d.Y.ShapeEquals(expected) && !classIndicesWithoutAxis)
        {
            string hint = "";
            if (model.OutputIsSequence && d.Y.Rank == 2)
                hint = " (the last recurrent layer returns sequences; set return_sequences to false to predict one vector per sequence)";
            else if (!model.OutputIsSequence && d.Y.Rank == 3)
                hint = " (y has a vector per timestep; set return_sequences to true on the last recurrent layer)";
            else if (loss is SparseCategoricalCrossentropy)
                hint = " (class indices, one per prediction)";
            else if (d.Y.Rank >= 2 && d.Y.Shape[^1] == 1 && model.OutputWidth > 1 && loss is CategoricalCrossentropy)
                hint = " (y holds class indices: use sparse_categorical_crossentropy)";
            throw new JobException($"y has shape {Tensor.FormatShape(d.Y.Shape)} but the model's output ({model.OutputWidth} unit(s)) with loss {loss.Name} needs {Tensor.FormatShape(expected)}{hint}");
        }

        if (loss is SparseCategoricalCrossentropy)
        {
            int classes = model.OutputWidth;
            for (int i = 0; i < d.Y.Length; i++)
            {
                float label = d.Y.Data[i];
                if (label != MathF.Floor(label) || label < 0 || label >= classes)
                    throw new JobException($"y row {i / (d.Y.Length / n)}: label {label.ToString(CultureInfo.InvariantCulture)} is not a class index in [0, {classes}) for the model's {classes} output unit(s)");
            }
        }

        if (policy != StatePolicyKind.FromData) return;
        var slots = network.StateSlots;
        string Expected() => string.Join(", ", slots.Select(s => $"{network.StateName(s)} ({n}, {s.Units})"));
        if (slots.Count == 0)
            throw new JobException("state policy from_data: the model has no recurrent state to initialise");
        if (d.InitialStates.Count == 0)
            throw new JobException($"state policy from_data needs initial states in the data, but {d.Description} has none (expected {Expected()}; npz keys initial_state0 .. initial_state{slots.Count - 1})");
        if (d.InitialStates.Count != slots.Count)
            throw new JobException($"state policy from_data: the data has {d.InitialStates.Count} initial state tensor(s) but the model has {slots.Count} state slot(s): {Expected()}");
        for (int k = 0; k < slots.Count; k++)
        {
            var s = d.InitialStates[k];
            if (!s.ShapeEquals(n, slots[k].Units))
                throw new JobException($"state policy from_data: initial state {k} has shape {Tensor.FormatShape(s.Shape)}; the model's {network.StateName(slots[k])} needs ({n}, {slots[k].Units})");
        }
    }

    /// <summary>
    /// <see cref="CheckFits(Dataset, ModelSpec, ILoss, StatePolicyKind)"/> for a job, plus the
    /// batching a stateful job needs: the training rows (all rows minus the validation split)
    /// must be a whole number of batches.
    /// </summary>
    public static void CheckFits(Dataset d, JobSpec job)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(job);
        if (d.X.Rank != 3)
            throw new JobException($"x has shape {Tensor.FormatShape(d.X.Shape)}; expected (samples, timesteps, features)");
        ILoss loss;
        try
        {
            loss = job.CreateLoss();
        }
        catch (ModelException e)
        {
            throw new JobException(e.Message);
        }
        CheckFits(d, job.ModelFor(d.Features), loss, job.States.Policy);
        int validation = (int)(d.Rows * job.ValidationSplit);
        int train = d.Rows - validation;
        if (train < 1)
            throw new JobException($"validation_split {job.ValidationSplit} leaves no training rows of {d.Rows}");
        if (job.IsStateful && train % job.BatchSize != 0)
            throw new JobException(
                $"a stateful job needs whole batches: {train} training rows ({d.Rows} rows minus {validation} for validation) is not a multiple of batch_size {job.BatchSize}; " +
                "set data.streams to the batch size (csv windows) and pick a validation_split that leaves a multiple of it");
    }

    private static Dataset LoadBuiltin(DataSpec spec, string source, DataLoadOptions options)
    {
        if (options.StateUnits is null)
            throw new JobException($"{source}: builtin data '{spec.EffectiveBuiltin}' gives one initial state per model state slot: load it with the job (DataLoader.Load(job, source)) or pass DataLoadOptions.StateUnits");
        try
        {
            return BuiltinData.Generate(spec.EffectiveRows, spec.EffectiveTimesteps, options.StateUnits, options.Seed);
        }
        catch (JobException e)
        {
            throw new JobException($"{source}: {e.Message}");
        }
    }

    private static Dataset LoadNpz(DataSpec spec)
    {
        string path = spec.Path!;
        if (!File.Exists(path)) throw new JobException($"data file not found: {path}");
        IReadOnlyDictionary<string, NpyArray> arrays;
        try
        {
            arrays = Npz.ReadFile(path);
        }
        catch (FileNotFoundException)
        {
            throw new JobException($"data file not found: {path}");
        }
        catch (IOException e)
        {
            throw new JobException(e is NpyFormatException ? e.Message : $"{path}: {e.Message}");
        }

        NpyArray Get(string key, string field) => arrays.TryGetValue(key, out var a)
            ? a
            : throw new JobException($"{path}: no array '{key}' ({field}; the file holds {(arrays.Count == 0 ? "no arrays" : string.Join(", ", arrays.Keys))})");

        var xArray = Get(spec.EffectiveXKey, "data.x_key");
        // Token ids for an embedding: integers (samples, timesteps), one feature per step.
        bool tokens = xArray.Rank == 2 && xArray.DType is not (NpyDType.Float32 or NpyDType.Float64 or NpyDType.Bool);
        if (xArray.Rank != 3 && !tokens)
            throw new JobException($"{path}: {spec.EffectiveXKey} has shape {NpyArray.FormatShape(xArray.Shape)}; expected (samples, timesteps, features), or integer token ids (samples, timesteps)");
        var x = new Tensor(CheckFinite(xArray.ToFloats(), xArray, spec.EffectiveXKey, path), tokens ? [.. xArray.Shape, 1] : xArray.Shape);
        int n = x.Shape[0];
        if (n == 0) throw new JobException($"{path}: {spec.EffectiveXKey} has no rows");

        var yArray = Get(spec.EffectiveYKey, "data.y_key");
        if (yArray.Rank is < 1 or > 3)
            throw new JobException($"{path}: {spec.EffectiveYKey} has shape {NpyArray.FormatShape(yArray.Shape)}; expected (samples,), (samples, outputs) or (samples, timesteps, outputs)");
        if (yArray.Dim(0) != n)
            throw new JobException($"{path}: {spec.EffectiveXKey} has {n} rows but {spec.EffectiveYKey} has {yArray.Dim(0)}");
        var yShape = yArray.Rank == 1 ? [n, 1] : yArray.Shape;
        var y = new Tensor(CheckFinite(yArray.ToFloats(), yArray, spec.EffectiveYKey, path), yShape);

        var states = new List<Tensor>();
        for (int k = 0; arrays.TryGetValue($"initial_state{k}", out var s); k++)
        {
            string key = $"initial_state{k}";
            if (s.Rank != 2 || s.Dim(0) != n)
                throw new JobException($"{path}: {key} has shape {NpyArray.FormatShape(s.Shape)}; expected ({n}, units)");
            states.Add(new Tensor(CheckFinite(s.ToFloats(), s, key, path), s.Shape));
        }
        var stray = arrays.Keys.FirstOrDefault(k => k.StartsWith("initial_state", StringComparison.Ordinal)
            && !(int.TryParse(k.AsSpan("initial_state".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int slot) && slot < states.Count && k == $"initial_state{slot}"));
        if (stray is not null)
            throw new JobException($"{path}: array '{stray}' is not part of the sequence initial_state0, initial_state1, ... (initial_state{states.Count} is missing)");

        string stateText = states.Count == 0 ? "no initial states" : $"{states.Count} initial state(s)";
        var lengths = SequenceLengths.Read(arrays, n, x.Shape[1], path);
        string lengthText = lengths is null ? "" : $", lengths {lengths.Min()}..{lengths.Max()}";
        return new Dataset(x, y, states, $"{System.IO.Path.GetFileName(path)}: x {Tensor.FormatShape(x.Shape)}, y {Tensor.FormatShape(y.Shape)}, {stateText}{lengthText}") { Lengths = lengths };
    }

    private static float[] CheckFinite(float[] values, NpyArray array, string key, string path)
    {
        int rowLength = array.Rank == 0 || array.Dim(0) == 0 ? 1 : (int)(array.ElementCount / array.Dim(0));
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            string what = float.IsNaN(values[i]) ? "NaN" : "Inf";
            throw new JobException($"{path}: {what} in {key} at row {i / rowLength}");
        }
        return values;
    }
}

/// <summary>CSV (plain or gzip) to windows or to one sequence per row.</summary>
internal static class CsvLoader
{
    private sealed class Table
    {
        public required string[] Header { get; init; }
        public required Dictionary<string, double[]> Columns { get; init; }

        /// <summary>1-based file line of each data row.</summary>
        public required List<int> Lines { get; init; }

        public int Rows => Lines.Count;
    }

    public static Dataset Load(DataSpec spec, DataLoadOptions options)
    {
        string path = spec.Path!;
        if (!File.Exists(path)) throw new JobException($"data file not found: {path}");
        return spec.IsWindowed ? Windows(spec, path, options) : SequencePerRow(spec, path, options);
    }

    // ---------- windows ----------

    private static Dataset Windows(DataSpec spec, string path, DataLoadOptions options)
    {
        var features = spec.Columns!;
        var targets = spec.EffectiveTargetColumns;
        bool interpolate = spec.EffectiveMissing == "interpolate";
        var needed = features.Concat(targets).Distinct().ToList();
        var table = Read(path, spec.EffectiveHeader, needed, allowMissing: interpolate, MissingHint);
        int rows = table.Rows;
        int window = spec.Window!.Value, horizon = spec.EffectiveHorizon, stride = spec.EffectiveStride;
        if (rows < window + horizon)
            throw new JobException($"{path}: window {window} + horizon {horizon} needs at least {window + horizon} rows, found {rows}");

        var flags = new Dictionary<string, float[]>();
        if (interpolate)
            foreach (var name in needed)
            {
                var mask = Interpolate(table.Columns[name], path, name);
                if (features.Contains(name)) flags[name] = mask;
            }

        // Window starts in time order, then (streams) the stateful layout.
        int count = (rows - window - horizon) / stride + 1;
        var starts = new int[count];
        for (int i = 0; i < count; i++) starts[i] = i * stride;
        int dropped = 0;
        if (spec.Streams is { } streams)
        {
            if (count < streams)
                throw new JobException($"{path}: {count} window(s) cannot fill data.streams {streams}");
            int perStream = count / streams;
            dropped = count - perStream * streams;
            var laidOut = new int[perStream * streams];
            for (int k = 0; k < perStream; k++)
                for (int j = 0; j < streams; j++)
                    laidOut[k * streams + j] = starts[dropped + j * perStream + k];
            starts = laidOut;
            count = laidOut.Length;
        }

        int fCount = features.Count, d = interpolate ? 2 * fCount : fCount, o = targets.Count;
        var featureNames = features.Concat(interpolate ? features.Select(f => f + "_missing") : []).ToList();

        Standardization? scaling = null;
        var mean = new Dictionary<string, double>();
        var std = new Dictionary<string, double>();
        if (spec.EffectiveScale == "standard")
        {
            int train = TrainRows(count, options.ValidationSplit);
            var used = new bool[rows];
            for (int r = 0; r < train; r++)
            {
                Array.Fill(used, true, starts[r], window);
                used[starts[r] + window + horizon - 1] = true;
            }
            foreach (var name in needed) (mean[name], std[name]) = MeanStd(table.Columns[name], used);
            scaling = new Standardization(
                [.. features.Select(f => mean[f]), .. Enumerable.Repeat(0.0, d - fCount)],
                [.. features.Select(f => std[f]), .. Enumerable.Repeat(1.0, d - fCount)],
                [.. targets.Select(t => mean[t])],
                [.. targets.Select(t => std[t])]);
        }

        double Value(string name, int row) =>
            scaling is null ? table.Columns[name][row] : (table.Columns[name][row] - mean[name]) / std[name];

        var x = new float[count * window * d];
        var y = new float[count * o];
        for (int r = 0; r < count; r++)
        {
            int start = starts[r];
            for (int t = 0; t < window; t++)
            {
                int at = (r * window + t) * d;
                for (int f = 0; f < fCount; f++)
                {
                    x[at + f] = (float)Value(features[f], start + t);
                    if (interpolate) x[at + fCount + f] = flags[features[f]][start + t];
                }
            }
            for (int c = 0; c < o; c++) y[r * o + c] = (float)Value(targets[c], start + window + horizon - 1);
        }

        var description = new StringBuilder($"{System.IO.Path.GetFileName(path)}: {count} windows of {window} rows x {d} features ({string.Join(", ", featureNames)}) -> {string.Join(", ", targets)} at +{horizon}");
        if (stride != 1) description.Append($", stride {stride}");
        if (spec.Streams is { } s) description.Append($", {s} streams (dropped the {dropped} oldest window(s))");
        if (scaling is not null) description.Append(", standardised");
        return new Dataset(new Tensor(x, count, window, d), new Tensor(y, count, o), [], description.ToString())
        {
            FeatureNames = featureNames,
            TargetNames = [.. targets],
            Scaling = scaling,
        };
    }

    /// <summary>Fills NaN gaps linearly between known neighbours (the nearest value at the ends); returns the 0/1 gap mask.</summary>
    private static float[] Interpolate(double[] values, string path, string column)
    {
        var mask = new float[values.Length];
        int previous = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsNaN(values[i]))
            {
                if (previous < i - 1) Fill(previous, i);
                previous = i;
            }
            else mask[i] = 1f;
        }
        if (previous < 0) throw new JobException($"{path}: column {column} has no values");
        if (previous < values.Length - 1) Fill(previous, values.Length);
        return mask;

        void Fill(int left, int right) // exclusive bounds; either may be outside the data
        {
            for (int i = left + 1; i < right; i++)
            {
                if (left < 0) values[i] = values[right];
                else if (right >= values.Length) values[i] = values[left];
                else values[i] = values[left] + (values[right] - values[left]) * (i - left) / (right - left);
            }
        }
    }

    // ---------- one sequence per row ----------

    private static Dataset SequencePerRow(DataSpec spec, string path, DataLoadOptions options)
    {
        int timesteps = spec.Timesteps!.Value, features = spec.Features!.Value;
        string label = spec.LabelColumn!;
        var header = ReadHeader(path, spec.EffectiveHeader);
        var columns = spec.Columns ?? [.. header.Where(h => h != label)];
        if (columns.Count != timesteps * features)
            throw new JobException($"{path}: {columns.Count} feature columns (every column but '{label}') but data.timesteps {timesteps} x data.features {features} = {timesteps * features}; list them in data.columns");
        var table = Read(path, spec.EffectiveHeader, [.. columns, label], allowMissing: false, "");
        int n = table.Rows;
        if (n == 0) throw new JobException($"{path}: no data rows");

        var x = new float[n * timesteps * features];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < columns.Count; c++)
                x[r * columns.Count + c] = (float)table.Columns[columns[c]][r];
        var labels = table.Columns[label];
        var y = new float[n];
        for (int r = 0; r < n; r++) y[r] = (float)labels[r];

        Standardization? scaling = null;
        if (spec.EffectiveScale == "standard")
        {
            int train = TrainRows(n, options.ValidationSplit);
            var mean = new double[features];
            var std = new double[features];
            for (int f = 0; f < features; f++)
            {
                double sum = 0, sumSq = 0;
                for (int i = f; i < train * timesteps * features; i += features) sum += x[i];
                mean[f] = sum / (train * timesteps);
                for (int i = f; i < train * timesteps * features; i += features) sumSq += (x[i] - mean[f]) * (x[i] - mean[f]);
                std[f] = Guard(Math.Sqrt(sumSq / (train * timesteps)));
            }
            for (int i = 0; i < x.Length; i++) x[i] = (float)((x[i] - mean[i % features]) / std[i % features]);
            scaling = new Standardization(mean, std, [], []);
        }

        return new Dataset(new Tensor(x, n, timesteps, features), new Tensor(y, n, 1), [],
            $"{System.IO.Path.GetFileName(path)}: {n} sequences of {timesteps} x {features} features, labels from '{label}'{(scaling is null ? "" : ", standardised")}")
        {
            FeatureNames = [.. Enumerable.Range(0, features).Select(f => $"f{f}")],
            TargetNames = [label],
            Scaling = scaling,
        };
    }

    // ---------- reading ----------

    private static int TrainRows(int rows, double validationSplit) => Math.Max(1, rows - (int)(rows * validationSplit));

    private static (double Mean, double Std) MeanStd(double[] values, bool[] used)
    {
        double sum = 0;
        int count = 0;
        for (int i = 0; i < values.Length; i++)
            if (used[i]) { sum += values[i]; count++; }
        double mean = sum / count, sq = 0;
        for (int i = 0; i < values.Length; i++)
            if (used[i]) sq += (values[i] - mean) * (values[i] - mean);
        return (mean, Guard(Math.Sqrt(sq / count)));
    }

    private static double Guard(double std) => std > 1e-12 ? std : 1.0;

    private static TextReader Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int got = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            stream.Position = 0;
            Stream content = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(stream, CompressionMode.Decompress) : stream;
            return new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static string? ReadLine(TextReader reader, string path)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (InvalidDataException e)
        {
            throw new JobException($"{path}: not a valid gzip file: {e.Message}");
        }
    }

    private static string[] ReadHeader(string path, bool header)
    {
        using var reader = Open(path);
        return Header(reader, path, header, out _, out _);
    }

    /// <summary>The column names: the header row's, or "0", "1", ... from the first row's cell count.</summary>
    private static string[] Header(TextReader reader, string path, bool header, out string? firstDataLine, out int line)
    {
        line = 0;
        string? text;
        do
        {
            text = ReadLine(reader, path);
            line++;
        } while (text is not null && string.IsNullOrWhiteSpace(text));
        if (text is null) throw new JobException($"{path}: the file is empty");
        var cells = Split(text);
        if (!header)
        {
            firstDataLine = text;
            line--;
            return [.. Enumerable.Range(0, cells.Count).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        }
        firstDataLine = null;
        var names = cells.Select(c => c.Trim()).ToArray();
        var dup = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new JobException($"{path}: the header names column '{dup.Key}' twice{HeaderHint(names)}");
        return names;
    }

    /// <summary>A hint when a header row holds only numbers: the file probably has no header.</summary>
    private static string HeaderHint(string[] names) =>
        names.All(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            ? "; the first line looks like data: set data.header to false, then columns are named 0, 1, ..."
            : "";

    private const string MissingHint = " (set data.missing to \"interpolate\" to fill gaps)";

    private static Table Read(string path, bool header, IReadOnlyList<string> wanted, bool allowMissing, string missingHint)
    {
        using var reader = Open(path);
        var names = Header(reader, path, header, out var pending, out int line);
        var index = new Dictionary<string, int>();
        for (int i = 0; i < names.Length; i++) index[names[i]] = i;
        foreach (var w in wanted)
        {
            if (index.ContainsKey(w)) continue;
            string hint = header ? HeaderHint(names) : "";
            throw new JobException($"{path}: unknown column '{w}' (columns: {string.Join(", ", names)}){hint}");
        }

        var columns = wanted.Distinct().ToDictionary(w => w, _ => new List<double>());
        var lines = new List<int>();
        while (true)
        {
            string? text;
            if (pending is not null)
            {
                text = pending;
                pending = null;
            }
            else text = ReadLine(reader, path);
            line++;
            if (text is null) break;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var cells = Split(text);
            if (cells.Count != names.Length)
                throw new JobException($"{path} row {line}: {cells.Count} cell(s), expected {names.Length} ({string.Join(", ", names)})");
            foreach (var (name, values) in columns)
                values.Add(Parse(cells[index[name]], path, line, name, allowMissing, missingHint));
            lines.Add(line);
        }
        return new Table { Header = names, Columns = columns.ToDictionary(p => p.Key, p => p.Value.ToArray()), Lines = lines };
    }

    /// <summary>A cell's number; NaN for a missing value when allowed.</summary>
    private static double Parse(string cell, string path, int line, string column, bool allowMissing, string missingHint)
    {
        var text = cell.Trim();
        bool empty = text.Length == 0;
        bool missingToken = text is "NA" or "N/A" or "null" || text.Equals("nan", StringComparison.OrdinalIgnoreCase);
        if (empty || missingToken)
        {
            if (allowMissing) return double.NaN;
            string what = empty ? "empty value" : $"missing value '{text}'";
            throw new JobException($"{path} row {line}, column {column}: {what}{missingHint}");
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new JobException($"{path} row {line}, column {column}: '{text}' is not a number");
        return value;
    }

    /// <summary>Splits a CSV line on commas; double quotes group cells and "" is a quote inside them.</summary>
    private static List<string> Split(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                    else quoted = false;
                }
                else cell.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
