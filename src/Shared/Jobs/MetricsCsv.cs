using System.Globalization;
using System.Text;

namespace RnnCluster.Jobs;

/// <summary>
/// metrics.csv as Keras's CSVLogger writes it: <c>epoch,loss,val_loss,&lt;metrics...&gt;,seconds</c>.
/// Metric columns appear in order of first use; a value an epoch lacks is an empty cell. Numbers
/// use the invariant culture and round-trip exactly.
/// </summary>
public static class MetricsCsv
{
    public static void Write(string path, IReadOnlyList<EpochMetrics> rows)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, Format(rows), new UTF8Encoding(false));
    }

    public static string Format(IReadOnlyList<EpochMetrics> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var names = MetricNames(rows);
        var sb = new StringBuilder();
        sb.Append(Header(names)).Append('\n');
        foreach (var r in rows)
        {
            sb.Append(r.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',');
            sb.Append(Number(r.Loss)).Append(',');
            sb.Append(r.ValLoss is { } v ? Number(v) : "");
            foreach (var name in names)
            {
                sb.Append(',');
                if (r.Metrics is not null && r.Metrics.TryGetValue(name, out var m)) sb.Append(Number(m));
            }
            sb.Append(',').Append(Number(r.Seconds)).Append('\n');
        }
        return sb.ToString();
    }

    public static string Header(IEnumerable<string> metricNames) =>
        string.Join(",", new[] { "epoch", "loss", "val_loss" }.Concat(metricNames).Append("seconds"));

    private static List<string> MetricNames(IReadOnlyList<EpochMetrics> rows)
    {
        var names = new List<string>();
        foreach (var r in rows)
            if (r.Metrics is not null)
                foreach (var name in r.Metrics.Keys)
                {
                    if (name.Contains(',') || name.Contains('\n'))
                        throw new ArgumentException($"metric name '{name}' cannot be a CSV column");
                    if (!names.Contains(name)) names.Add(name);
                }
        return names;
    }

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
