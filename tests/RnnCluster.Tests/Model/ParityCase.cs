using System.Text;
using System.Text.Json;
using RnnCluster.Data;
using RnnCluster.Model;

namespace RnnCluster.Tests.Model;

/// <summary>One reference case from tests/fixtures/parity (format: FORMAT.md there).</summary>
public sealed class ParityCase
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "parity");

    private readonly IReadOnlyDictionary<string, NpyArray> _arrays;

    public ParityCase(string path)
    {
        _arrays = Npz.ReadFile(path);
        var json = JsonDocument.Parse(Encoding.UTF8.GetString((byte[])_arrays["case.json"].Data)).RootElement;
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

    public bool Has(string key) => _arrays.ContainsKey(key);

    public Tensor this[string key] => new(_arrays[key].ToFloats(), _arrays[key].Shape);

    public double[] Doubles(string key) => _arrays[key].ToDoubles();

    public static IEnumerable<object[]> All() =>
        Directory.EnumerateFiles(Folder, "*.npz").OrderBy(f => f, StringComparer.Ordinal).Select(f => new object[] { Path.GetFileName(f) });
}
