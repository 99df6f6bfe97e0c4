using System.Globalization;
using RnnCluster.Model;
using RnnCluster.Numerics;

namespace RnnCluster.Jobs;

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
            DataSpec.NpzSource => NpzDataLoader.Load(spec),
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
    /// <see cref="DataFit.Check"/> for a data set: the data fits the model, the loss and the state
    /// policy (the initial states count only for from_data).
    /// </summary>
    /// <exception cref="JobException">It does not (the message names the shapes).</exception>
    public static void CheckFits(Dataset d, ModelSpec model, ILoss loss, StatePolicyKind policy)
    {
        ArgumentNullException.ThrowIfNull(d);
        try
        {
            DataFit.Check(model, loss, d.X, d.Y, policy == StatePolicyKind.FromData ? d.InitialStates : null, d.Description);
        }
        catch (ModelException e)
        {
            throw new JobException(e.Message);
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
        Security.ResourceLimits.Current.CheckDataBytes(
            sizeof(float) * (d.X.Data.LongLength + d.Y.Data.LongLength + d.InitialStates.Sum(s => s.Data.LongLength)), $"the data ({d.Description})");
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
        var (train, validation) = ValidationSplit.Of(d.Rows, job.ValidationSplit);
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
}
