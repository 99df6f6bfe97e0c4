using System.Text.RegularExpressions;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// Keras's names for this project's layers: the class name in a config, the snake-case group
/// name in a weights file (<c>SimpleRNN</c> is <c>simple_rnn</c>), the cell's name, and the path
/// of every layer's variables as Keras 3's saving library lays them out: the model's layer list
/// is walked in order, each layer named after its class, a repeated class getting <c>_1</c>,
/// <c>_2</c>, ... (never after <c>layer.name</c>).
/// </summary>
public static partial class KerasNames
{
    public static string ClassName(string kind) => kind switch
    {
        LayerKinds.SimpleRnn => "SimpleRNN",
        LayerKinds.Lstm => "LSTM",
        LayerKinds.Gru => "GRU",
        LayerKinds.Dense => "Dense",
        _ => throw new ModelException($"layer kind '{kind}' has no Keras class"),
    };

    /// <summary>Our layer kind for a Keras class name, or null when the class is not supported.</summary>
    public static string? KindOf(string className) => className switch
    {
        "SimpleRNN" => LayerKinds.SimpleRnn,
        "LSTM" => LayerKinds.Lstm,
        "GRU" => LayerKinds.Gru,
        "Dense" => LayerKinds.Dense,
        _ => null,
    };

    /// <summary>Keras's <c>naming.to_snake_case</c>: <c>SimpleRNN</c> to <c>simple_rnn</c>, <c>InputLayer</c> to <c>input_layer</c>.</summary>
    public static string SnakeCase(string name)
    {
        name = NonWord().Replace(name, "");
        name = CapitalWord().Replace(name, "$1_$2");
        return LowerUpper().Replace(name, "$1_$2").ToLowerInvariant();
    }

    /// <summary>The name Keras gives a recurrent layer's cell (<c>lstm_cell</c>).</summary>
    public static string CellName(string kind) => SnakeCase(ClassName(kind)) + "_cell";

    /// <summary>
    /// The weights-file path of each layer of <paramref name="spec"/> (<c>layers/lstm</c>,
    /// <c>layers/dense</c>, <c>layers/lstm_1</c>, ...). A functional model lists its InputLayers
    /// first; they take <c>input_layer</c>, <c>input_layer_1</c>, ... and do not change the others.
    /// </summary>
    public static IReadOnlyList<string> LayerPaths(ModelSpec spec)
    {
        var used = new Dictionary<string, int>();
        var paths = new List<string>(spec.Layers.Count);
        foreach (var layer in spec.Layers) paths.Add("layers/" + Unique(SnakeCase(ClassName(layer.Kind)), used));
        return paths;
    }

    /// <summary>Keras's <c>_get_unique_name</c>: the first use of a name is bare, then <c>_1</c>, <c>_2</c>, ...</summary>
    public static string Unique(string name, Dictionary<string, int> used)
    {
        if (used.TryGetValue(name, out var n))
        {
            used[name] = n + 1;
            return $"{name}_{n + 1}";
        }
        used[name] = 0;
        return name;
    }

    [GeneratedRegex(@"\W+")]
    private static partial Regex NonWord();

    [GeneratedRegex("(.)([A-Z][a-z]+)")]
    private static partial Regex CapitalWord();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex LowerUpper();
}
