using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>CSV (plain or gzip) to windows (<see cref="CsvWindows"/>) or to one sequence per row (<see cref="CsvSequences"/>).</summary>
internal static class CsvLoader
{
    public static Dataset Load(DataSpec spec, DataLoadOptions options)
    {
        string path = spec.Path!;
        if (!File.Exists(path)) throw new JobException($"data file not found: {path}");
        return spec.IsWindowed ? CsvWindows.Load(spec, path, options) : CsvSequences.Load(spec, path, options);
    }

    /// <summary>The rows the scaling statistics come from: the training rows of the split.</summary>
    public static int TrainRows(int rows, double validationSplit, string path)
    {
        int train = ValidationSplit.Of(rows, validationSplit).TrainRows;
        if (train < 1) throw new JobException($"{path}: validation_split {validationSplit} leaves no training rows of {rows} to take the scaling statistics from");
        return train;
    }

    public static (double Mean, double Std) MeanStd(double[] values, bool[] used)
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

    public static double Guard(double std) => std > 1e-12 ? std : 1.0;
}
