using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>
/// Synthetic data for the built-in default job, made so that the initial state matters (the
/// Keras question "how do I feed an initial state to an RNN"). "phase_level": sequence i has a
/// hidden level L_i ~ U(-1, 1) and a phase phi_i ~ U(0, 2 pi); x_t = sin(0.3 t + phi_i) plus a
/// little Gaussian noise (D = 1, t = 0 .. T-1); the target is y_i = L_i + sin(0.3 T + phi_i), the
/// next value of the wave shifted by the level. The level never appears in x: it comes as the
/// initial state, L_i in column 0 (zeros elsewhere) of every state slot. A model that ignores the
/// initial state cannot do better than predicting the wave, MSE = Var(L) = 1/3; one that reads it
/// can get close to 0.
/// </summary>
public static class BuiltinData
{
    public const string PhaseLevel = "phase_level";

    public static readonly IReadOnlyList<string> Names = [PhaseLevel];

    /// <summary>Angular step of the wave per timestep.</summary>
    public const double Frequency = 0.3;

    /// <summary>Standard deviation of the noise on x.</summary>
    public const double Noise = 0.05;

    /// <summary>
    /// <paramref name="rows"/> sequences of <paramref name="timesteps"/> steps; one initial-state
    /// tensor (rows, units) per entry of <paramref name="stateUnits"/> (the model's state slots in
    /// order, e.g. [16, 16] for one LSTM(16)). Deterministic for a seed.
    /// </summary>
    public static Dataset Generate(int rows, int timesteps, IReadOnlyList<int> stateUnits, int seed)
    {
        ArgumentNullException.ThrowIfNull(stateUnits);
        if (rows < 1) throw new JobException($"builtin data: rows must be at least 1, got {rows}");
        if (timesteps < 1) throw new JobException($"builtin data: timesteps must be at least 1, got {timesteps}");
        if (stateUnits.Count == 0)
            throw new JobException("builtin data 'phase_level' gives the level as the initial state, but the model has no recurrent state");
        foreach (var u in stateUnits)
            if (u < 1) throw new JobException($"builtin data: state units must be at least 1, got {u}");

        var random = new Random(seed);
        var x = new float[rows * timesteps];
        var y = new float[rows];
        var levels = new float[rows];
        for (int i = 0; i < rows; i++)
        {
            double level = random.NextDouble() * 2 - 1;
            double phase = random.NextDouble() * 2 * Math.PI;
            for (int t = 0; t < timesteps; t++)
                x[i * timesteps + t] = (float)(Math.Sin(Frequency * t + phase) + Noise * Gaussian(random));
            y[i] = (float)(level + Math.Sin(Frequency * timesteps + phase));
            levels[i] = (float)level;
        }

        var states = new List<Tensor>(stateUnits.Count);
        foreach (var units in stateUnits)
        {
            var s = new float[rows * units];
            for (int i = 0; i < rows; i++) s[i * units] = levels[i];
            states.Add(new Tensor(s, rows, units));
        }
        return new Dataset(new Tensor(x, rows, timesteps, 1), new Tensor(y, rows, 1), states,
            $"builtin {PhaseLevel}: {rows} sequences x {timesteps} steps, level as initial state of {stateUnits.Count} state slot(s), seed {seed}")
        {
            FeatureNames = ["wave"],
            TargetNames = ["level_plus_next"],
        };
    }

    /// <summary>The state sizes of a job's model, one per state slot (h, then c for LSTM, layer by layer).</summary>
    public static IReadOnlyList<int> StateUnits(ModelSpec model) =>
        [.. new Network(model, new Numerics.ManagedKernels()).StateSlots.Select(s => s.Units)];

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
