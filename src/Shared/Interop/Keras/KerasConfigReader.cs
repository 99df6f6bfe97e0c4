using System.Text.Json;
using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// Reads a Keras model config (<c>config.json</c> of a <c>.keras</c> archive, Keras 3; or the
/// <c>model_config</c> of a Keras 2 <c>.h5</c>) into our model description. Accepted: a Sequential
/// model, or a functional model whose one sequence Input runs through a chain of the supported
/// layers (SimpleRNN, LSTM, GRU, Dense) to one output, where a recurrent layer may take its
/// <c>initial_state</c> from further Inputs. Anything else is refused with one line naming the
/// layer and the class or option: other layer classes, <c>hard_sigmoid</c> (or any non-sigmoid)
/// recurrent activations, GRU <c>reset_after=False</c>, <c>use_bias=False</c>, dropout,
/// regularizers, constraints, <c>return_state</c>, non-float32 dtypes, shared layers, branches.
/// Options that only shape the initial weights (initializers, <c>unit_forget_bias</c>, seeds)
/// or the speed (<c>unroll</c>) are ignored.
/// </summary>
public static class KerasConfigReader
{
    public static KerasModel Read(string json, string source)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(json).RootElement;
        }
        catch (JsonException e)
        {
            throw new ModelException($"{source}: config.json is not valid JSON: {e.Message}");
        }
        return Read(root, source);
    }

    public static KerasModel Read(JsonElement root, string source)
    {
        var className = Str(root, "class_name") ?? throw new ModelException($"{source}: the model config has no class_name");
        var config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
            ? c : throw new ModelException($"{source}: the model config has no config object");
        var name = Str(config, "name") ?? "model";
        return className switch
        {
            "Sequential" => Sequential(config, name, source),
            "Functional" or "Model" => Functional(config, name, source),
            _ => throw new ModelException($"{source}: model class '{className}' is not supported (expected Sequential or Functional)"),
        };
    }

    private static KerasModel Sequential(JsonElement config, string name, string source)
    {
        var layers = Layers(config, source);
        int? features = null, timesteps = null;
        var specs = new List<LayerSpec>();
        foreach (var layer in layers)
        {
            var cls = Str(layer, "class_name");
            var lc = LayerConfig(layer, source);
            if (cls == "InputLayer")
            {
                if (specs.Count > 0) throw new ModelException($"{source}: InputLayer '{Str(lc, "name")}' after other layers");
                (features, timesteps) = InputShape(lc, source);
                continue;
            }
            if (features is null && ShapeOf(lc, "batch_input_shape") is { } s) (features, timesteps) = SequenceShape(s, Str(lc, "name"), source);
            specs.Add(LayerOptions.ToSpec(cls, lc, source));
        }
        if (features is null && ShapeOf(config, "build_input_shape") is { } built) (features, timesteps) = SequenceShape(built, name, source);
        if (features is null && layers.Count > 0 && layers[0].TryGetProperty("build_config", out var bc) && ShapeOf(bc, "input_shape") is { } input)
            (features, timesteps) = SequenceShape(input, name, source);
        if (features is null) throw new ModelException($"{source}: Sequential model '{name}' does not say its input shape (no InputLayer, batch_input_shape or build_input_shape)");
        var spec = Checked(new ModelSpec { InputFeatures = features.Value, Layers = specs }, source);
        return new KerasModel(name, spec, [.. Enumerable.Repeat<string?>(null, StateSlotCount(spec))], timesteps);
    }

    private static KerasModel Functional(JsonElement config, string name, string source)
    {
        var layers = Layers(config, source);
        var byName = new Dictionary<string, JsonElement>();
        foreach (var l in layers)
        {
            var n = Str(l, "name") ?? Str(LayerConfig(l, source), "name") ?? throw new ModelException($"{source}: a layer of '{name}' has no name");
            byName[n] = l;
        }
        var inputs = TensorRefs(config.GetProperty("input_layers"), source);
        var outputs = TensorRefs(config.GetProperty("output_layers"), source);
        if (outputs.Count != 1) throw new ModelException($"{source}: model '{name}' has {outputs.Count} outputs; only single-output models are supported");

        // Walk back from the output along each layer's first argument: a chain to the data input.
        var chain = new List<string>();
        var stateRefs = new Dictionary<string, List<string>>();
        var at = outputs[0];
        while (true)
        {
            if (!byName.TryGetValue(at, out var layer)) throw new ModelException($"{source}: model '{name}' refers to a layer '{at}' it does not define");
            if (Str(layer, "class_name") == "InputLayer") break;
            if (chain.Contains(at)) throw new ModelException($"{source}: layer '{at}' is called more than once (shared layers are not supported)");
            chain.Add(at);
            var nodes = layer.TryGetProperty("inbound_nodes", out var n) ? n : default;
            if (nodes.ValueKind != JsonValueKind.Array || nodes.GetArrayLength() != 1)
                throw new ModelException($"{source}: layer '{at}' is called {(nodes.ValueKind == JsonValueKind.Array ? nodes.GetArrayLength() : 0)} times; each layer must be called once");
            var (data, initialState) = NodeInputs(nodes[0], at, Str(layer, "class_name") ?? "", source);
            if (initialState.Count > 0) stateRefs[at] = initialState;
            at = data;
        }
        var dataInput = at;
        chain.Reverse();
        var (features, timesteps) = InputShape(LayerConfig(byName[dataInput], source), source);

        var specs = new List<LayerSpec>();
        var stateInputs = new List<string?>();
        foreach (var layerName in chain)
        {
            var layer = byName[layerName];
            var spec = LayerOptions.ToSpec(Str(layer, "class_name"), LayerConfig(layer, source), source);
            specs.Add(spec);
            int slots = spec.Kind == LayerKinds.Lstm ? 2 : spec.IsRecurrent ? 1 : 0;
            var given = stateRefs.GetValueOrDefault(layerName);
            if (given is not null && given.Count != slots)
                throw new ModelException($"{source}: layer '{layerName}' ({KerasNames.ClassName(spec.Kind)}) gets {given.Count} initial state(s); it has {slots}");
            foreach (var s in given ?? [])
            {
                if (!byName.TryGetValue(s, out var src) || Str(src, "class_name") != "InputLayer")
                    throw new ModelException($"{source}: the initial_state of layer '{layerName}' comes from '{s}', which is not an Input (only states given as model inputs are supported)");
                var (rank, width) = StateShape(LayerConfig(src, source), s, source);
                if (rank != 2 || width != spec.Units)
                    throw new ModelException($"{source}: Input '{s}' feeds the initial_state of '{layerName}' ({spec.Units} units) but has shape of rank {rank}, width {width?.ToString() ?? "None"}");
            }
            for (int k = 0; k < slots; k++) stateInputs.Add(given?[k]);
        }
        var used = new HashSet<string>(chain) { dataInput };
        used.UnionWith(stateInputs.OfType<string>());
        foreach (var n in byName.Keys.Where(n => Str(byName[n], "class_name") != "InputLayer"))
            if (!used.Contains(n)) throw new ModelException($"{source}: layer '{n}' is off the chain from '{dataInput}' to '{outputs[0]}' (branches are not supported)");
        foreach (var i in inputs)
            if (!used.Contains(i)) throw new ModelException($"{source}: Input '{i}' is not used on the path to the output (only one sequence input plus initial-state inputs is supported)");
        if (!inputs.Contains(dataInput)) throw new ModelException($"{source}: '{dataInput}' is not listed among the model's inputs");
        var model = Checked(new ModelSpec { InputFeatures = features, Layers = specs }, source);
        return new KerasModel(name, model, stateInputs, timesteps) { ModelClass = "Functional", DataInputName = dataInput };
    }

    /// <summary>A node's data input (its first argument) and the Inputs of its initial_state (kwarg, or second argument).</summary>
    private static (string Data, List<string> InitialState) NodeInputs(JsonElement node, string layer, string cls, string source)
    {
        JsonElement args, kwargs = default;
        if (node.ValueKind == JsonValueKind.Array)
        {
            // Keras 2: [[name, node, tensor, kwargs], ...]
            if (node.GetArrayLength() != 1) throw new ModelException($"{source}: layer '{layer}' takes {node.GetArrayLength()} inputs; only one is supported");
            var entry = node[0];
            var refName = entry[0].GetString()!;
            var states = entry.GetArrayLength() > 3 && entry[3].TryGetProperty("initial_state", out var st) ? TensorRefs(st, source) : [];
            if (entry.GetArrayLength() > 3) CheckKwargs(entry[3], layer, source);
            return (refName, states);
        }
        args = node.GetProperty("args");
        if (node.TryGetProperty("kwargs", out var kw)) kwargs = kw;
        if (args.ValueKind != JsonValueKind.Array || args.GetArrayLength() == 0) throw new ModelException($"{source}: layer '{layer}' has a call without arguments");
        var data = TensorRefs(args[0], source);
        if (data.Count != 1) throw new ModelException($"{source}: layer '{layer}' takes {data.Count} tensors as input; only one is supported");
        var initial = new List<string>();
        if (args.GetArrayLength() > 1)
        {
            if (KerasNames.KindOf(cls) is not (LayerKinds.SimpleRnn or LayerKinds.Lstm or LayerKinds.Gru))
                throw new ModelException($"{source}: layer '{layer}' is called with {args.GetArrayLength()} positional arguments; only one is supported");
            initial.AddRange(TensorRefs(args[1], source));
            if (args.GetArrayLength() > 2) throw new ModelException($"{source}: layer '{layer}' is called with a mask or more arguments, which is not supported");
        }
        if (kwargs.ValueKind == JsonValueKind.Object)
        {
            if (kwargs.TryGetProperty("initial_state", out var st) && st.ValueKind != JsonValueKind.Null) initial.AddRange(TensorRefs(st, source));
            CheckKwargs(kwargs, layer, source);
        }
        return (data[0], initial);
    }

    private static void CheckKwargs(JsonElement kwargs, string layer, string source)
    {
        foreach (var p in kwargs.EnumerateObject())
        {
            if (p.Name is "initial_state" or "training") continue;
            if (p.Name == "mask" && p.Value.ValueKind == JsonValueKind.Null) continue;
            throw new ModelException($"{source}: layer '{layer}' is called with '{p.Name}', which is not supported");
        }
    }

    /// <summary>The layer names in a tensor reference structure: a keras tensor, a [name, node, index] triple, or lists of them.</summary>
    private static List<string> TensorRefs(JsonElement e, string source)
    {
        var names = new List<string>();
        void Walk(JsonElement x)
        {
            switch (x.ValueKind)
            {
                case JsonValueKind.Object when Str(x, "class_name") == "__keras_tensor__":
                    names.Add(x.GetProperty("config").GetProperty("keras_history")[0].GetString()!);
                    break;
                case JsonValueKind.Array when x.GetArrayLength() >= 3 && x[0].ValueKind == JsonValueKind.String && x[1].ValueKind == JsonValueKind.Number:
                    names.Add(x[0].GetString()!);
                    break;
                case JsonValueKind.Array:
                    foreach (var y in x.EnumerateArray()) Walk(y);
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw new ModelException($"{source}: unexpected tensor reference {x.GetRawText()}");
            }
        }
        Walk(e);
        return names;
    }

    private static List<JsonElement> Layers(JsonElement config, string source) =>
        config.TryGetProperty("layers", out var l) && l.ValueKind == JsonValueKind.Array
            ? [.. l.EnumerateArray()]
            : throw new ModelException($"{source}: the model config has no layers list");

    private static JsonElement LayerConfig(JsonElement layer, string source) =>
        layer.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
            ? c : throw new ModelException($"{source}: layer {Str(layer, "name") ?? Str(layer, "class_name")} has no config");

    /// <summary>An InputLayer's (features, timesteps) for a (batch, timesteps, features) sequence input.</summary>
    private static (int Features, int? Timesteps) InputShape(JsonElement inputConfig, string source)
    {
        var name = Str(inputConfig, "name") ?? "input";
        var shape = ShapeOf(inputConfig, "batch_shape") ?? ShapeOf(inputConfig, "batch_input_shape")
            ?? throw new ModelException($"{source}: Input '{name}' has no batch_shape");
        CheckFloat32(inputConfig, name, source);
        if (inputConfig.TryGetProperty("sparse", out var sp) && sp.ValueKind == JsonValueKind.True) throw new ModelException($"{source}: Input '{name}' is sparse, which is not supported");
        if (inputConfig.TryGetProperty("ragged", out var rg) && rg.ValueKind == JsonValueKind.True) throw new ModelException($"{source}: Input '{name}' is ragged, which is not supported");
        var (f, t) = SequenceShape(shape, name, source);
        return (f, t);
    }

    private static (int Rank, int? Width) StateShape(JsonElement inputConfig, string name, string source)
    {
        var shape = ShapeOf(inputConfig, "batch_shape") ?? ShapeOf(inputConfig, "batch_input_shape")
            ?? throw new ModelException($"{source}: Input '{name}' has no batch_shape");
        CheckFloat32(inputConfig, name, source);
        return (shape.Count, shape.Count > 0 ? shape[^1] : null);
    }

    private static (int Features, int? Timesteps) SequenceShape(List<int?> shape, string? name, string source)
    {
        if (shape.Count != 3 || shape[2] is null)
            throw new ModelException($"{source}: input '{name}' has shape ({string.Join(", ", shape.Select(d => d?.ToString() ?? "None"))}); expected (batch, timesteps, features) with known features");
        return (shape[2]!.Value, shape[1]);
    }

    private static List<int?> ShapeOf(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var s) && s.ValueKind == JsonValueKind.Array
            ? [.. s.EnumerateArray().Select(d => d.ValueKind == JsonValueKind.Number ? d.GetInt32() : (int?)null)]
            : null!;

    internal static void CheckFloat32(JsonElement config, string name, string source)
    {
        if (!config.TryGetProperty("dtype", out var d) || d.ValueKind == JsonValueKind.Null) return;
        var dtype = d.ValueKind == JsonValueKind.String ? d.GetString()
            : d.TryGetProperty("config", out var dc) ? Str(dc, "name") : null;
        if (dtype is not ("float32" or null))
            throw new ModelException($"{source}: layer '{name}' has dtype '{dtype}'; only float32 is supported");
    }

    internal static string? Str(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static ModelSpec Checked(ModelSpec spec, string source)
    {
        try
        {
            spec.Validate();
        }
        catch (ModelException e)
        {
            throw new ModelException($"{source}: {e.Message}");
        }
        return spec;
    }

    private static int StateSlotCount(ModelSpec spec) => spec.Layers.Sum(l => l.Kind == LayerKinds.Lstm ? 2 : l.IsRecurrent ? 1 : 0);
}
