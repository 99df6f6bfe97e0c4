using System.Text.Json.Nodes;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// Writes a model's <c>config.json</c> as Keras 3 serializes it (<c>serialize_keras_object</c>:
/// <c>module</c>, <c>class_name</c>, <c>config</c>, <c>registered_name</c>, <c>build_config</c>;
/// a functional model's layers with <c>inbound_nodes</c> of <c>__keras_tensor__</c> references).
/// A model whose initial states are inputs is written as a functional model: the sequence Input,
/// one Input per state slot (<c>{layer}_h</c>, <c>{layer}_c</c>) fed to its layer's
/// <c>initial_state</c>; any other model as a Sequential one.
/// </summary>
public static class KerasConfigWriter
{
    public static string Write(ModelSpec spec, bool statesAsInputs, int? timesteps, string? name = null)
    {
        JsonNode root = statesAsInputs ? Functional(spec, timesteps, name ?? "functional") : Sequential(spec, timesteps, name ?? "sequential");
        return root.ToJsonString();
    }

    /// <summary>The names of the InputLayers a functional config written for <paramref name="spec"/> has, in order.</summary>
    public static IReadOnlyList<string> InputNames(ModelSpec spec) =>
        ["input", .. StateInputNames(spec).Select(s => s.Name)];

    private static IEnumerable<(int Layer, int Slot, string Name)> StateInputNames(ModelSpec spec)
    {
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            if (!l.IsRecurrent) continue;
            yield return (i, 0, $"{spec.LayerName(i)}_h");
            if (l.Kind == LayerKinds.Lstm) yield return (i, 1, $"{spec.LayerName(i)}_c");
        }
    }

    private static JsonObject Sequential(ModelSpec spec, int? timesteps, string name)
    {
        var shape = Shape(null, timesteps, spec.InputFeatures);
        var layers = new JsonArray { Input("input_layer", shape) };
        var width = spec.InputFeatures;
        bool sequence = true;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            layers.Add(Layer(spec, i, Shape(null, sequence ? timesteps : null, width, sequence)));
            (width, sequence) = Next(spec.Layers[i], width, sequence);
        }
        return Object("keras", "Sequential", new JsonObject
        {
            ["name"] = name,
            ["trainable"] = true,
            ["dtype"] = Policy(),
            ["layers"] = layers,
            ["build_input_shape"] = shape.DeepClone(),
        }, build: new JsonObject { ["input_shape"] = shape.DeepClone() });
    }

    private static JsonObject Functional(ModelSpec spec, int? timesteps, string name)
    {
        var layers = new JsonArray();
        var dataShape = Shape(null, timesteps, spec.InputFeatures);
        var input = Input("input", dataShape);
        input["name"] = "input";
        input["inbound_nodes"] = new JsonArray();
        layers.Add(input);
        var states = StateInputNames(spec).ToList();
        foreach (var (layer, _, stateName) in states)
        {
            var s = Input(stateName, Shape(null, null, spec.Layers[layer].Units, sequence: false));
            s["name"] = stateName;
            s["inbound_nodes"] = new JsonArray();
            layers.Add(s);
        }
        string previous = "input";
        var width = spec.InputFeatures;
        bool sequence = true;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var inShape = Shape(null, sequence ? timesteps : null, width, sequence);
            var layer = Layer(spec, i, inShape);
            var kwargs = new JsonObject();
            var mine = states.Where(s => s.Layer == i).ToList();
            if (mine.Count > 0)
                kwargs["initial_state"] = new JsonArray([.. mine.Select(s => (JsonNode)KerasTensor(s.Name, Shape(null, null, spec.Layers[i].Units, sequence: false)))]);
            if (spec.Layers[i].IsRecurrent) kwargs["training"] = false;
            layer["name"] = spec.LayerName(i);
            layer["inbound_nodes"] = new JsonArray { new JsonObject { ["args"] = new JsonArray { KerasTensor(previous, inShape) }, ["kwargs"] = kwargs } };
            layers.Add(layer);
            previous = spec.LayerName(i);
            (width, sequence) = Next(spec.Layers[i], width, sequence);
        }
        return Object("keras.src.models.functional", "Functional", new JsonObject
        {
            ["name"] = name,
            ["trainable"] = true,
            ["layers"] = layers,
            ["input_layers"] = new JsonArray([new JsonArray("input", 0, 0), .. states.Select(s => (JsonNode)new JsonArray(s.Name, 0, 0))]),
            ["output_layers"] = new JsonArray(previous, 0, 0),
        }, registered: "Functional", build: new JsonObject { ["input_shape"] = null });
    }

    private static (int Width, bool Sequence) Next(LayerSpec l, int width, bool sequence) =>
        (l.Units, l.IsRecurrent ? l.ReturnSequences : sequence);

    private static JsonObject Layer(ModelSpec spec, int i, JsonArray inputShape)
    {
        var l = spec.Layers[i];
        var c = new JsonObject
        {
            ["name"] = spec.LayerName(i),
            ["trainable"] = true,
            ["dtype"] = Policy(),
        };
        if (l.IsRecurrent)
        {
            c["return_sequences"] = l.ReturnSequences;
            c["return_state"] = false;
            c["go_backwards"] = l.GoBackwards;
            c["stateful"] = l.Stateful;
            c["unroll"] = false;
            c["zero_output_for_mask"] = false;
            c["units"] = l.Units;
            c["activation"] = l.Kind == LayerKinds.SimpleRnn ? (l.Activation ?? "tanh") : "tanh";
            if (l.Kind != LayerKinds.SimpleRnn) c["recurrent_activation"] = "sigmoid";
            c["use_bias"] = true;
            c["kernel_initializer"] = Initializer("GlorotUniform");
            c["recurrent_initializer"] = Initializer("Orthogonal", new JsonObject { ["gain"] = 1.0, ["seed"] = null });
            c["bias_initializer"] = Initializer("Zeros", new JsonObject());
            if (l.Kind == LayerKinds.Lstm) c["unit_forget_bias"] = true;
            foreach (var r in new[] { "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint" })
                c[r] = null;
            c["dropout"] = 0.0;
            c["recurrent_dropout"] = 0.0;
            if (l.Kind == LayerKinds.Gru) c["reset_after"] = true;
            c["seed"] = null;
        }
        else
        {
            c["units"] = l.Units;
            c["activation"] = ActivationNames.Parse(l.Activation).ToName();
            c["use_bias"] = true;
            c["kernel_initializer"] = Initializer("GlorotUniform");
            c["bias_initializer"] = Initializer("Zeros", new JsonObject());
            foreach (var r in new[] { "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "quantization_config" })
                c[r] = null;
        }
        return Object("keras.layers", KerasNames.ClassName(l.Kind), c, build: new JsonObject { ["input_shape"] = inputShape });
    }

    private static JsonObject Input(string name, JsonArray shape) => Object("keras.layers", "InputLayer", new JsonObject
    {
        ["batch_shape"] = shape,
        ["dtype"] = "float32",
        ["sparse"] = false,
        ["ragged"] = false,
        ["name"] = name,
        ["optional"] = false,
    });

    private static JsonObject KerasTensor(string layer, JsonArray shape) => new()
    {
        ["class_name"] = "__keras_tensor__",
        ["config"] = new JsonObject { ["shape"] = shape.DeepClone(), ["dtype"] = "float32", ["keras_history"] = new JsonArray(layer, 0, 0) },
    };

    private static JsonObject Object(string module, string className, JsonObject config, string? registered = null, JsonObject? build = null)
    {
        var o = new JsonObject { ["module"] = module, ["class_name"] = className, ["config"] = config, ["registered_name"] = registered };
        if (build is not null) o["build_config"] = build;
        return o;
    }

    private static JsonObject Policy() => Object("keras", "DTypePolicy", new JsonObject { ["name"] = "float32" });

    private static JsonObject Initializer(string className, JsonObject? config = null) =>
        Object("keras.initializers", className, config ?? new JsonObject { ["seed"] = null });

    private static JsonArray Shape(int? batch, int? timesteps, int width, bool sequence = true) =>
        sequence ? new JsonArray(batch, timesteps, width) : new JsonArray(batch, width);
}
