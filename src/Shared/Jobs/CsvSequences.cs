using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>CSV with one sequence per row: <c>timesteps x features</c> feature columns and a label column.</summary>
internal static class CsvSequences
{
    public static Dataset Load(DataSpec spec, string path, DataLoadOptions options)
    {
        int timesteps = spec.Timesteps!.Value, features = spec.Features!.Value;
        string label = spec.LabelColumn!;
        var header = CsvReader.ReadHeader(path, spec.EffectiveHeader);
        var columns = spec.Columns ?? [.. header.Where(h => h != label)];
        if (columns.Count != timesteps * features)
            throw new JobException($"{path}: {columns.Count} feature columns (every column but '{label}') but data.timesteps {timesteps} x data.features {features} = {timesteps * features}; list them in data.columns");
        var table = CsvReader.Read(path, spec.EffectiveHeader, [.. columns, label], allowMissing: false, "");
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
            int train = CsvLoader.TrainRows(n, options.ValidationSplit, path);
            var mean = new double[features];
            var std = new double[features];
            for (int f = 0; f < features; f++)
            {
                double sum = 0, sumSq = 0;
                for (int i = f; i < train * timesteps * features; i += features) sum += x[i];
                mean[f] = sum / (train * timesteps);
                for (int i = f; i < train * timesteps * features; i += features) sumSq += (x[i] - mean[f]) * (x[i] - mean[f]);
                std[f] = CsvLoader.Guard(Math.Sqrt(sumSq / (train * timesteps)));
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
}
