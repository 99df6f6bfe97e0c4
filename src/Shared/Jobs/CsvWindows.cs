using System.Text;
using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// A time series in CSV to windows: each sample is <c>window</c> consecutive rows of the feature
/// columns, its target the target columns <c>horizon</c> rows after the window; optionally laid
/// out as interleaved streams for stateful training, gaps interpolated and flagged, standardised.
/// </summary>
internal static class CsvWindows
{
    private const string MissingHint = " (set data.missing to \"interpolate\" to fill gaps)";

    public static Dataset Load(DataSpec spec, string path, DataLoadOptions options)
    {
        var features = spec.Columns!;
        var targets = spec.EffectiveTargetColumns;
        bool interpolate = spec.EffectiveMissing == "interpolate";
        var needed = features.Concat(targets).Distinct().ToList();
        var table = CsvReader.Read(path, spec.EffectiveHeader, needed, allowMissing: interpolate, MissingHint);
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
            int train = CsvLoader.TrainRows(count, options.ValidationSplit, path);
            var used = new bool[rows];
            for (int r = 0; r < train; r++)
            {
                Array.Fill(used, true, starts[r], window);
                used[starts[r] + window + horizon - 1] = true;
            }
            foreach (var name in needed) (mean[name], std[name]) = CsvLoader.MeanStd(table.Columns[name], used);
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
}
