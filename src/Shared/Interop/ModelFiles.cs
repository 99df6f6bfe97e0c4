using PureHDF;
using RnnCluster.Interop.Keras;
using RnnCluster.Interop.Onnx;
using RnnCluster.Model;

namespace RnnCluster.Interop;

/// <summary>
/// Opens a model wherever it lives: a trained model folder (<c>model.json</c> + <c>weights.npz</c>),
/// a <c>.keras</c> archive, a Keras HDF5 file (<c>.h5</c>, <c>.weights.h5</c>) or an <c>.onnx</c> file.
/// </summary>
public static class ModelFiles
{
    /// <summary>A model with its weights from a folder or a <c>.keras</c> archive (the sources export reads).</summary>
    public static (ModelWeights Weights, KerasModel? Keras) OpenWithWeights(string path)
    {
        if (Directory.Exists(path))
        {
            var spec = ReadSpec(path);
            var weightsPath = Path.Combine(path, "weights.npz");
            if (!File.Exists(weightsPath)) throw new FileNotFoundException($"weights file not found: {weightsPath}");
            var known = ModelWeights.LayoutOf(spec).SelectMany(l => l).Select(w => w.Name).ToHashSet();
            return (new ModelWeights(spec, WeightsFile.Load(weightsPath).Where(w => known.Contains(w.Key))), null);
        }
        if (path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase))
        {
            var k = KerasArchive.Read(path);
            return (k.Weights!, k);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"model not found: {path} (expected a folder written by 'train --out' or a .keras file)");
        throw new ModelException($"{path}: export reads a trained model folder or a .keras archive (an .h5 weights file has no architecture; an .onnx file is an export already)");
    }

    public static ModelDescription Describe(string path)
    {
        if (Directory.Exists(path))
        {
            var spec = ReadSpec(path);
            return new ModelDescription(Path.GetFileName(Path.GetFullPath(path).TrimEnd('/')), "RnnCluster model folder (model.json, weights.npz)", spec)
            {
                Notes = File.Exists(Path.Combine(path, "weights.npz")) ? [] : ["weights.npz is missing"],
            };
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"model not found: {path}");
        if (path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase))
        {
            var k = KerasArchive.Read(path);
            return new ModelDescription(k.Name, $"Keras archive, {k.ModelClass}, keras_version {k.KerasVersion ?? "unknown"}", k.Spec)
            {
                Timesteps = k.Timesteps,
                InputName = k.DataInputName,
                StateSources = [.. k.StateInputs.Select(s => s is null ? null : $"Input '{s}'")],
            };
        }
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return OnnxModelReader.Describe(path);
        if (path.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".hdf5", StringComparison.OrdinalIgnoreCase))
        {
            using var file = KerasWeightsFile.Open(path);
            return WeightsOnlySpec.Describe(file, path);
        }
        throw new ModelException($"{path}: unknown model file (expected a folder, .keras, .h5, .weights.h5 or .onnx)");
    }

    private static ModelSpec ReadSpec(string dir)
    {
        var modelPath = Path.Combine(dir, "model.json");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file not found: {modelPath}");
        return ModelSpec.FromJson(File.ReadAllText(modelPath), modelPath);
    }
}
