using System.Text;
using System.Text.Json;
using RnnCluster.Data;
using RnnCluster.Model;

namespace RnnCluster.Tests.Model;

/// <summary>A reference case stored as an npz: named arrays and a <c>case.json</c> description.</summary>
public abstract class NpzCase
{
    private readonly IReadOnlyDictionary<string, NpyArray> _arrays;

    protected NpzCase(string path)
    {
        _arrays = Npz.ReadFile(path);
        Json = JsonDocument.Parse(Encoding.UTF8.GetString((byte[])_arrays["case.json"].Data)).RootElement;
    }

    protected JsonElement Json { get; }

    public bool Has(string key) => _arrays.ContainsKey(key);

    public Tensor this[string key] => new(_arrays[key].ToFloats(), _arrays[key].Shape);

    public double[] Doubles(string key) => _arrays[key].ToDoubles();

    /// <summary>The *.npz file names in <paramref name="folder"/>, one xunit row each.</summary>
    public static IEnumerable<object[]> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*.npz").OrderBy(f => f, StringComparer.Ordinal).Select(f => new object[] { Path.GetFileName(f) });
}

/// <summary>One reference case from tests/fixtures/parity (format: FORMAT.md there).</summary>
public sealed class ParityCase : NpzCase
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "parity");

    public ParityCase(string path) : base(path)
    {
        var json = Json;
        var layers = json.GetProperty("layers").EnumerateArray().Select(l => new LayerSpec
        {
            Kind = l.GetProperty("cell").GetString()!,
            Units = l.GetProperty("units").GetInt32(),
            ReturnSequences = l.GetProperty("return_sequences").GetBoolean(),
            GoBackwards = l.GetProperty("go_backwards").GetBoolean(),
        }).ToList();
        layers.Add(new LayerSpec { Kind = LayerKinds.Dense, Units = json.GetProperty("dense_units").GetInt32() });
        Spec = new ModelSpec { InputFeatures = json.GetProperty("features").GetInt32(), Layers = layers };
        Loss = json.GetProperty("loss").GetString()!;
    }

    public ModelSpec Spec { get; }
    public string Loss { get; }

    public static IEnumerable<object[]> All() => Files(Folder);
}
