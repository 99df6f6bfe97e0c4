namespace RnnCluster.Jobs;

/// <summary>
/// Where a job's data comes from and how it becomes x (N, T, D), y and optional initial states.
/// Three sources:
/// <list type="bullet">
/// <item><c>builtin</c>: synthetic data (<see cref="BuiltinData"/>); <see cref="Builtin"/> names the generator,
/// <see cref="Rows"/> and <see cref="Timesteps"/> size it.</item>
/// <item><c>csv</c> (plain or gzip-compressed): either time-series windows (<see cref="Window"/>, <see cref="Columns"/>,
/// <see cref="TargetColumns"/>, <see cref="Horizon"/>, <see cref="Stride"/>, <see cref="Streams"/>, <see cref="Missing"/>)
/// or one sequence per row (<see cref="Timesteps"/> x <see cref="Features"/> cells plus a <see cref="LabelColumn"/>).</item>
/// <item><c>npz</c>: arrays <see cref="XKey"/> and <see cref="YKey"/>, and <c>initial_state{k}</c> per state slot when present.</item>
/// </list>
/// Optional members are null when not set, so a job file round-trips to the same JSON; the
/// <c>Effective*</c> members give the values in force.
/// </summary>
public sealed record DataSpec
{
    public const string BuiltinSource = "builtin";
    public const string CsvSource = "csv";
    public const string NpzSource = "npz";
    public const string DefaultBuiltin = BuiltinData.PhaseLevel;
    public const int DefaultRows = 2048;
    public const int DefaultTimesteps = 20;

    /// <summary>"builtin" (default), "csv" or "npz".</summary>
    public string Source { get; init; } = BuiltinSource;

    /// <summary>The data file (csv, csv.gz or npz); relative paths are relative to the job file's folder.</summary>
    public string? Path { get; init; }

    // ---------- builtin ----------

    /// <summary>Builtin generator name; default "phase_level".</summary>
    public string? Builtin { get; init; }

    /// <summary>Builtin: number of sequences (default 2048).</summary>
    public int? Rows { get; init; }

    /// <summary>Builtin: sequence length (default 20). CSV sequence-per-row mode: timesteps per row.</summary>
    public int? Timesteps { get; init; }

    // ---------- csv ----------

    /// <summary>CSV: the first line names the columns (default true). Without a header the columns are named "0", "1", ...</summary>
    public bool? Header { get; init; }

    /// <summary>CSV: the feature columns. Windows: required. Sequence per row: default every column but the label, in file order.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>CSV windows: the columns forecast into y (default: <see cref="Columns"/>).</summary>
    public IReadOnlyList<string>? TargetColumns { get; init; }

    /// <summary>CSV windows: x = rows [i, i + window) of the feature columns.</summary>
    public int? Window { get; init; }

    /// <summary>CSV windows: y = target columns at row i + window + horizon - 1 (default 1: the next row).</summary>
    public int? Horizon { get; init; }

    /// <summary>CSV windows: step between window starts (default 1).</summary>
    public int? Stride { get; init; }

    /// <summary>
    /// CSV windows, for stateful jobs: cut the windows into this many contiguous runs of equal
    /// length and interleave them, so that row k*streams + i is window k of run i. With
    /// batch_size = streams, row i of every batch continues row i of the previous batch (Keras's
    /// stateful contract). The oldest windows that do not fill a whole set of runs are dropped,
    /// so the row count is a multiple of streams. Use a stride equal to the window for runs that
    /// do not overlap.
    /// </summary>
    public int? Streams { get; init; }

    /// <summary>CSV windows: "error" (default) rejects empty cells; "interpolate" fills them linearly and adds a 0/1 "&lt;col&gt;_missing" feature per feature column.</summary>
    public string? Missing { get; init; }

    /// <summary>CSV sequence per row: features per timestep (the row's cells are read timestep by timestep).</summary>
    public int? Features { get; init; }

    /// <summary>CSV sequence per row: the column holding the class index (y is (N, 1)).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>CSV: "none" (default) or "standard" (features and targets standardised with the training rows' mean and std).</summary>
    public string? Scale { get; init; }

    // ---------- npz ----------

    /// <summary>NPZ: key of x (default "x").</summary>
    public string? XKey { get; init; }

    /// <summary>NPZ: key of y (default "y").</summary>
    public string? YKey { get; init; }

    // ---------- effective values ----------

    public string EffectiveBuiltin => Builtin ?? DefaultBuiltin;
    public int EffectiveRows => Rows ?? DefaultRows;
    public int EffectiveTimesteps => Timesteps ?? DefaultTimesteps;
    public bool EffectiveHeader => Header ?? true;
    public int EffectiveHorizon => Horizon ?? 1;
    public int EffectiveStride => Stride ?? 1;
    public string EffectiveMissing => Missing ?? "error";
    public string EffectiveScale => Scale ?? "none";
    public string EffectiveXKey => XKey ?? "x";
    public string EffectiveYKey => YKey ?? "y";
    public IReadOnlyList<string> EffectiveTargetColumns => TargetColumns ?? Columns ?? [];

    /// <summary>CSV: time-series windows (true) or one sequence per row (false).</summary>
    public bool IsWindowed => Window is not null;

    public DataSpec ResolvedAgainst(string folder) =>
        Path is null || System.IO.Path.IsPathRooted(Path) ? this : this with { Path = System.IO.Path.Combine(folder, Path) };

    /// <summary>Checks the members the source needs and rejects those it does not use; messages name the field.</summary>
    public void Validate(string source)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new JobException($"{source}: {message}");
        }
        void NotFor(string field, object? value, string appliesTo)
        {
            if (value is not null) throw new JobException($"{source}: data.{field} applies to {appliesTo} only (data.source is '{Source}')");
        }
        void Positive(string field, int? value)
        {
            if (value is { } v && v < 1) throw new JobException($"{source}: data.{field} must be at least 1, got {v}");
        }

        Positive("rows", Rows);
        Positive("timesteps", Timesteps);
        Positive("window", Window);
        Positive("horizon", Horizon);
        Positive("stride", Stride);
        Positive("streams", Streams);
        Positive("features", Features);

        switch (Source)
        {
            case BuiltinSource:
                Require(Builtin is null || BuiltinData.Names.Contains(Builtin),
                    $"data.builtin: unknown builtin data '{Builtin}' (expected {string.Join(", ", BuiltinData.Names)})");
                NotFor("path", Path, "csv and npz data");
                NotCsv();
                NotNpz();
                break;

            case CsvSource:
                Require(!string.IsNullOrWhiteSpace(Path), "data.path is required for csv data");
                NotFor("builtin", Builtin, "builtin data");
                NotFor("rows", Rows, "builtin data");
                NotNpz();
                Require(Missing is null or "error" or "interpolate", $"data.missing must be \"error\" or \"interpolate\", got \"{Missing}\"");
                Require(Scale is null or "none" or "standard", $"data.scale must be \"none\" or \"standard\", got \"{Scale}\"");
                if (Columns is not null)
                {
                    Require(Columns.Count > 0, "data.columns is empty");
                    var dup = Columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
                    Require(dup is null, $"data.columns names '{dup?.Key}' twice");
                }
                if (IsWindowed)
                {
                    Require(Columns is not null, "data.columns (the feature columns) is required for csv windows");
                    Require(TargetColumns is null || TargetColumns.Count > 0, "data.target_columns is empty");
                    Require(Timesteps is null, "data.timesteps applies to sequence-per-row csv data; windows take their length from data.window");
                    Require(Features is null, "data.features applies to sequence-per-row csv data; windows take their features from data.columns");
                    Require(LabelColumn is null, "data.label_column applies to sequence-per-row csv data; windows forecast data.target_columns");
                }
                else
                {
                    Require(Timesteps is not null, "csv data needs either data.window (time-series windows) or data.timesteps with data.features (one sequence per row)");
                    Require(Features is not null, "data.features is required with data.timesteps (one sequence per row)");
                    Require(!string.IsNullOrEmpty(LabelColumn), "data.label_column is required with data.timesteps (one sequence per row)");
                    Require(Columns is null || Columns.Count == Timesteps * Features,
                        $"data.columns lists {Columns?.Count} columns but data.timesteps {Timesteps} x data.features {Features} = {Timesteps * Features}");
                    Require(Columns is null || !Columns.Contains(LabelColumn!), $"data.label_column '{LabelColumn}' is also in data.columns");
                    Require(TargetColumns is null, "data.target_columns applies to csv windows (data.window); a sequence-per-row file has data.label_column");
                    Require(Horizon is null && Stride is null && Streams is null, "data.horizon, data.stride and data.streams apply to csv windows (data.window)");
                    Require(EffectiveMissing == "error", "data.missing \"interpolate\" applies to csv windows (data.window)");
                }
                break;

            case NpzSource:
                Require(!string.IsNullOrWhiteSpace(Path), "data.path is required for npz data");
                NotFor("builtin", Builtin, "builtin data");
                NotFor("rows", Rows, "builtin data");
                NotFor("timesteps", Timesteps, "builtin and csv data");
                NotCsv();
                Require(XKey is null || XKey.Length > 0, "data.x_key is empty");
                Require(YKey is null || YKey.Length > 0, "data.y_key is empty");
                break;

            default:
                throw new JobException($"{source}: data.source must be \"builtin\", \"csv\" or \"npz\", got \"{Source}\"");
        }

        void NotCsv()
        {
            const string csv = "csv data";
            NotFor("header", Header, csv);
            NotFor("columns", Columns, csv);
            NotFor("target_columns", TargetColumns, csv);
            NotFor("window", Window, csv);
            NotFor("horizon", Horizon, csv);
            NotFor("stride", Stride, csv);
            NotFor("streams", Streams, csv);
            NotFor("missing", Missing, csv);
            NotFor("features", Features, csv);
            NotFor("label_column", LabelColumn, csv);
            NotFor("scale", Scale, csv);
        }

        void NotNpz()
        {
            NotFor("x_key", XKey, "npz data");
            NotFor("y_key", YKey, "npz data");
        }
    }
}
