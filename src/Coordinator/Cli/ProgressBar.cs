using System.Globalization;
using System.Text;

namespace RnnCluster.Coordinator.Cli;

/// <summary>One-line progress text for a terminal.</summary>
public static class ProgressBar
{
    /// <summary>E.g. "epoch 2/6 [#########-----------] 45/100 loss 0.0123  5400 samples/s  ETA 0:12".</summary>
    public static string Format(int done, int total, string label, double loss, double samplesPerSecond, TimeSpan eta, int width = 30)
    {
        width = Math.Max(1, width);
        int clamped = Math.Clamp(done, 0, Math.Max(total, 0));
        int filled = total > 0 ? (int)((long)clamped * width / total) : 0;
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(label)) sb.Append(label).Append(' ');
        sb.Append('[').Append('#', filled).Append('-', width - filled).Append("] ");
        sb.Append(done.ToString(CultureInfo.InvariantCulture)).Append('/').Append(total.ToString(CultureInfo.InvariantCulture));
        sb.Append(" loss ").Append(Loss(loss));
        sb.Append("  ").Append(Rate(samplesPerSecond)).Append(" samples/s");
        sb.Append("  ETA ").Append(Eta(eta));
        return sb.ToString();
    }

    public static string Loss(double loss)
    {
        if (double.IsNaN(loss)) return "nan";
        if (double.IsInfinity(loss)) return loss > 0 ? "inf" : "-inf";
        double a = Math.Abs(loss);
        return a != 0 && (a < 1e-3 || a >= 1e5)
            ? loss.ToString("0.00e+00", CultureInfo.InvariantCulture)
            : loss.ToString("0.0000", CultureInfo.InvariantCulture);
    }

    private static string Rate(double r) =>
        !double.IsFinite(r) || r < 0 ? "?" : r < 10 ? r.ToString("0.0", CultureInfo.InvariantCulture) : Math.Round(r).ToString("0", CultureInfo.InvariantCulture);

    /// <summary>m:ss, or h:mm:ss from an hour on; "?" when unknown (negative).</summary>
    public static string Eta(TimeSpan eta)
    {
        if (eta < TimeSpan.Zero) return "?";
        long seconds = (long)Math.Ceiling(eta.TotalSeconds);
        long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
        return h > 0
            ? $"{h.ToString(CultureInfo.InvariantCulture)}:{m:00}:{s:00}"
            : $"{(seconds / 60).ToString(CultureInfo.InvariantCulture)}:{s:00}";
    }
}
