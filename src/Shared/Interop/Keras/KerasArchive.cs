using System.IO.Compression;
using System.Text.Json;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// <c>.keras</c> archives (Keras 3 <c>model.save</c>): a zip of <c>metadata.json</c>
/// (<c>keras_version</c>, <c>date_saved</c>), <c>config.json</c> (<see cref="KerasConfigReader"/>,
/// <see cref="KerasConfigWriter"/>) and <c>model.weights.h5</c> (<see cref="KerasWeightsFile"/>).
/// </summary>
public static class KerasArchive
{
    /// <summary>The Keras release whose format the written archives follow (metadata.json's keras_version).</summary>
    public const string FormatVersion = "3.16.0";

    public static KerasModel Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}");
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new ModelException($"{path}: not a .keras archive (not a zip file: {e.Message})");
        }
        using (zip)
        {
            var configEntry = zip.GetEntry("config.json") ?? throw new ModelException($"{path}: no config.json in the archive");
            string json;
            using (var r = new StreamReader(configEntry.Open())) json = r.ReadToEnd();
            var model = KerasConfigReader.Read(json, path);
            string? version = null;
            if (zip.GetEntry("metadata.json") is { } meta)
            {
                using var r = new StreamReader(meta.Open());
                try
                {
                    var m = JsonDocument.Parse(r.ReadToEnd()).RootElement;
                    version = m.TryGetProperty("keras_version", out var v) ? v.GetString() : null;
                }
                catch (JsonException e)
                {
                    throw new ModelException($"{path}: metadata.json is not valid JSON: {e.Message}");
                }
            }
            if (zip.GetEntry("model.weights.npz") is not null && zip.GetEntry("model.weights.h5") is null)
                throw new ModelException($"{path}: weights saved with weights_format='npz' are not supported (expected model.weights.h5)");
            var weightsEntry = zip.GetEntry("model.weights.h5") ?? throw new ModelException($"{path}: no model.weights.h5 in the archive");
            using var buffer = new MemoryStream();
            using (var s = weightsEntry.Open()) s.CopyTo(buffer);
            buffer.Position = 0;
            var weights = KerasWeightsFile.Read(buffer, model.Spec, $"{path}:model.weights.h5");
            return model with { Weights = weights, KerasVersion = version };
        }
    }

    /// <summary>
    /// Writes a model as a <c>.keras</c> archive; with <paramref name="statesAsInputs"/> as a
    /// functional model whose initial states are Inputs (as the model is trained with per-row states).
    /// </summary>
    public static void Write(string path, ModelWeights weights, bool statesAsInputs = false, int? timesteps = null)
    {
        var spec = weights.Spec;
        var config = KerasConfigWriter.Write(spec, statesAsInputs, timesteps);
        var metadata = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["keras_version"] = FormatVersion,
            ["date_saved"] = DateTime.UtcNow.ToString("yyyy-MM-dd@HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
        });
        using var h5 = new MemoryStream();
        KerasWeightsFile.Write(h5, weights, statesAsInputs ? "functional" : "sequential", statesAsInputs ? KerasConfigWriter.InputNames(spec) : null);
        try
        {
            using var file = File.Create(path);
            using var zip = new ZipArchive(file, ZipArchiveMode.Create);
            Add(zip, "metadata.json", System.Text.Encoding.UTF8.GetBytes(metadata));
            Add(zip, "config.json", System.Text.Encoding.UTF8.GetBytes(config));
            Add(zip, "model.weights.h5", h5.ToArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"cannot write {path}: {e.Message}");
        }
    }

    private static void Add(ZipArchive zip, string name, byte[] data)
    {
        // Keras writes the archive's members uncompressed (zipfile's default, ZIP_STORED).
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = entry.Open();
        s.Write(data);
    }
}
