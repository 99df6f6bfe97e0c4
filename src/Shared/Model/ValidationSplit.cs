namespace RnnCluster.Model;

/// <summary>
/// Keras's <c>validation_split</c>: the last rows are held out for validation, the first ones
/// train. The one place the row counts are computed (the job actor, the data loaders' scaling
/// statistics, the job check and <see cref="Sequential.Fit"/> all use it): validation rows =
/// floor(rows x fraction), with the fraction taken as the decimal number it was written as, so
/// 100 rows at 0.29 hold out 29 (binary floating point would give 28.999... and hold out 28).
/// </summary>
public readonly record struct ValidationSplit(int TrainRows, int ValidationRows)
{
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in [0, 1) or the row count is negative.</exception>
    public static ValidationSplit Of(int rows, double fraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (!(fraction is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "a validation split must be in [0, 1)");
        int validation = (int)decimal.Floor(rows * (decimal)fraction);
        return new ValidationSplit(rows - validation, validation);
    }

    public int Rows => TrainRows + ValidationRows;
}
