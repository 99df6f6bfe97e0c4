namespace RnnCluster.Jobs;

/// <summary>One epoch's line of metrics.csv: 1-based epoch, losses, extra metrics by name (e.g. "accuracy", "val_accuracy"), wall seconds.</summary>
public sealed record EpochMetrics(int Epoch, double Loss, double? ValLoss, IReadOnlyDictionary<string, double>? Metrics, double Seconds);
