#!/usr/bin/python3
"""Writes one model's weights in every HDF5 layout Keras has used, with h5py, as Keras's own
saving code lays them out (keras saving/saving_lib.py H5IOStore and legacy_h5_format), so the
readers are tested against files that neither RnnCluster nor PureHDF wrote.

Usage: keras_layouts.py MODEL.json WEIGHTS.npz OUT_DIR
MODEL.json is RnnCluster's model description; WEIGHTS.npz holds its weights by our names
(layer0.kernel, ...) in Keras's shapes. Writes into OUT_DIR:
  keras3.weights.h5      Keras >= 3.4: a `vars` group with a `name` attribute for every object
  keras3_0.weights.h5    Keras 3.0-3.3: no name attributes, empty `vars` groups, optimizer vars
  keras2_13.weights.h5   Keras 2.13's saving_lib: `_layer_checkpoint_dependencies` for `layers`
  legacy.h5              Keras 2 `save_weights('w.h5')`: layer_names / weight_names attributes
  legacy_model.h5        Keras 2 `model.save('m.h5')`: the same under /model_weights, plus model_config
"""
import json, os, sys
import h5py
import numpy as np

CLASS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU", "dense": "Dense"}
SNAKE = {"simple_rnn": "simple_rnn", "lstm": "lstm", "gru": "gru", "dense": "dense"}
NAMES = {3: ["kernel", "recurrent_kernel", "bias"], 2: ["kernel", "bias"]}

def layer_name(spec, i):
    l = spec["layers"][i]
    if l.get("name"):
        return l["name"]
    if l["kind"] == "dense" and sum(1 for x in spec["layers"] if x["kind"] == "dense") == 1:
        return "dense"
    return f"layer{i}"

def layers(spec, weights):
    used = {}
    for i, l in enumerate(spec["layers"]):
        base = SNAKE[l["kind"]]
        group = base if base not in used else f"{base}_{used[base] + 1}"
        used[base] = used.get(base, -1) + 1
        recurrent = l["kind"] != "dense"
        arrays = [weights[f"{layer_name(spec, i)}.{n}"].astype(np.float32) for n in NAMES[3 if recurrent else 2]]
        yield group, l, recurrent, arrays

def keras3(path, spec, weights, names=True, root="layers", optimizer=False):
    with h5py.File(path, "w") as f:
        def vars_group(parent, name):
            g = parent.create_group("vars")
            if names:
                g.attrs["name"] = name
            return g
        vars_group(f, "sequential")
        top = f.create_group(root)
        for group, l, recurrent, arrays in layers(spec, weights):
            g = top.create_group(group)
            v = vars_group(g, group)
            if recurrent:
                v = vars_group(g.create_group("cell"), f"{SNAKE[l['kind']]}_cell")
            for k, a in enumerate(arrays):
                v[str(k)] = a
        if optimizer:
            o = f.create_group("optimizer").create_group("vars")
            o["0"] = np.array(2, dtype=np.int64)
            o["1"] = np.array(0.01, dtype=np.float32)
            k = 2
            for _, _, _, arrays in layers(spec, weights):
                for a in arrays:
                    o[str(k)] = np.zeros_like(a)
                    o[str(k + 1)] = np.zeros_like(a)
                    k += 2

def legacy(group, spec, weights):
    names = []
    for i, (g, l, recurrent, arrays) in enumerate(layers(spec, weights)):
        keras_name = g
        names.append(keras_name.encode())
        lg = group.create_group(keras_name)
        prefix = f"{keras_name}/{SNAKE[l['kind']]}_cell/" if recurrent else f"{keras_name}/"
        wn = [f"{prefix}{n}:0" for n in NAMES[len(arrays)]]
        lg.attrs["weight_names"] = np.array([w.encode() for w in wn])
        for w, a in zip(wn, arrays):
            lg[w] = a
    group.attrs["layer_names"] = np.array(names)
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.12.0"

def model_config(spec):
    out = []
    for i, (g, l, recurrent, _) in enumerate(layers(spec, {k: np.zeros(1) for k in all_names(spec)})):
        c = {"name": g, "trainable": True, "units": l["units"], "activation": l.get("activation") or ("tanh" if recurrent else "linear"), "use_bias": True}
        if i == 0:
            c["batch_input_shape"] = [None, None, spec["input_features"]]
        if recurrent:
            c.update(return_sequences=l.get("return_sequences", False), return_state=False, go_backwards=l.get("go_backwards", False),
                     stateful=False, unroll=False, time_major=False, dropout=0.0, recurrent_dropout=0.0)
            if l["kind"] != "simple_rnn":
                c["recurrent_activation"] = "sigmoid"
            if l["kind"] == "gru":
                c["reset_after"] = True
        out.append({"class_name": CLASS[l["kind"]], "config": c})
    return json.dumps({"class_name": "Sequential", "config": {"name": "sequential", "layers": out}})

def all_names(spec):
    return [f"{layer_name(spec, i)}.{n}" for i, l in enumerate(spec["layers"]) for n in NAMES[2 if l["kind"] == "dense" else 3]]

def main():
    spec = json.load(open(sys.argv[1]))
    weights = dict(np.load(sys.argv[2]))
    out = sys.argv[3]
    os.makedirs(out, exist_ok=True)
    keras3(os.path.join(out, "keras3.weights.h5"), spec, weights)
    keras3(os.path.join(out, "keras3_0.weights.h5"), spec, weights, names=False, optimizer=True)
    keras3(os.path.join(out, "keras2_13.weights.h5"), spec, weights, names=False, root="_layer_checkpoint_dependencies")
    with h5py.File(os.path.join(out, "legacy.h5"), "w") as f:
        legacy(f, spec, weights)
    with h5py.File(os.path.join(out, "legacy_model.h5"), "w") as f:
        f.attrs["keras_version"] = b"2.12.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = model_config(spec).encode()
        legacy(f.create_group("model_weights"), spec, weights)

main()
