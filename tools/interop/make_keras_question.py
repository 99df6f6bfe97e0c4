#!/usr/bin/python3
"""Writes tests/fixtures/keras/keras_question.keras: the model of the Keras question this product
grew from, a SimpleRNN whose initial state is a second model input, then Dense:

    x = keras.Input(shape=(20, 1), name="x")
    h0 = keras.Input(shape=(8,), name="h0")
    h = keras.layers.SimpleRNN(8)(x, initial_state=[h0])
    y = keras.layers.Dense(1)(h)
    keras.Model([x, h0], y).save("keras_question.keras")

Keras is not installable here, so the archive is written by hand, member by member as Keras 3.16's
saving_lib writes it (read from its source, keras/src/saving/saving_lib.py, functional.py and the
layers' get_config): an uncompressed zip of metadata.json, config.json (serialize_keras_object of
a Functional: module/class_name/config/registered_name/build_config, layers with inbound_nodes of
__keras_tensor__ references, input_layers, output_layers) and model.weights.h5 (H5IOStore: a
`vars` group named after each object, layers under /layers by snake-case class name, the RNN's
variables under its cell). Weights are seeded random numbers; keras_question_expected.npz holds
an input batch, its initial states and the prediction computed here in float64 with Keras's
SimpleRNN equations (h = tanh(x K + h R + b), y = h W + c).
Usage: make_keras_question.py OUT_DIR"""
import io, json, os, sys, zipfile
import h5py
import numpy as np

T, D, H = 20, 1, 8

def policy():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}

def init(cls, config=None):
    return {"module": "keras.initializers", "class_name": cls, "config": {"seed": None} if config is None else config, "registered_name": None}

def tensor(layer, shape):
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32", "keras_history": [layer, 0, 0]}}

def input_layer(name, shape):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": shape, "dtype": "float32", "sparse": False, "ragged": False, "name": name, "optional": False},
            "registered_name": None, "name": name, "inbound_nodes": []}

def config():
    rnn = {"name": "simple_rnn", "trainable": True, "dtype": policy(), "return_sequences": False, "return_state": False,
           "go_backwards": False, "stateful": False, "unroll": False, "zero_output_for_mask": False, "units": H,
           "activation": "tanh", "use_bias": True, "kernel_initializer": init("GlorotUniform"),
           "recurrent_initializer": init("Orthogonal", {"gain": 1.0, "seed": None}), "bias_initializer": init("Zeros", {}),
           "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
           "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
           "recurrent_dropout": 0.0, "seed": None}
    dense = {"name": "dense", "trainable": True, "dtype": policy(), "units": 1, "activation": "linear", "use_bias": True,
             "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros", {}), "kernel_regularizer": None,
             "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None, "quantization_config": None}
    layers = [
        input_layer("x", [None, T, D]),
        input_layer("h0", [None, H]),
        {"module": "keras.layers", "class_name": "SimpleRNN", "config": rnn, "registered_name": None,
         "build_config": {"input_shape": [None, T, D]}, "name": "simple_rnn",
         "inbound_nodes": [{"args": [tensor("x", [None, T, D])],
                            "kwargs": {"initial_state": [tensor("h0", [None, H])], "training": False, "mask": None}}]},
        {"module": "keras.layers", "class_name": "Dense", "config": dense, "registered_name": None,
         "build_config": {"input_shape": [None, H]}, "name": "dense",
         "inbound_nodes": [{"args": [tensor("simple_rnn", [None, H])], "kwargs": {}}]},
    ]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "functional", "trainable": True, "layers": layers,
                       "input_layers": [["x", 0, 0], ["h0", 0, 0]], "output_layers": ["dense", 0, 0]},
            "registered_name": "Functional", "build_config": {"input_shape": None}}

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261201)
    K = rng.uniform(-0.5, 0.5, (D, H)).astype(np.float32)
    R = rng.uniform(-0.4, 0.4, (H, H)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, (H,)).astype(np.float32)
    W = rng.uniform(-0.5, 0.5, (H, 1)).astype(np.float32)
    c = np.array([0.05], dtype=np.float32)

    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        def vars_group(parent, name):
            g = parent.create_group("vars")
            g.attrs["name"] = name
            return g
        vars_group(f, "functional")
        layers = f.create_group("layers")
        vars_group(layers.create_group("input_layer"), "x")
        vars_group(layers.create_group("input_layer_1"), "h0")
        rnn = layers.create_group("simple_rnn")
        vars_group(rnn, "simple_rnn")
        cell = vars_group(rnn.create_group("cell"), "simple_rnn_cell")
        cell["0"], cell["1"], cell["2"] = K, R, b
        dense = vars_group(layers.create_group("dense"), "dense")
        dense["0"], dense["1"] = W, c

    with zipfile.ZipFile(os.path.join(out, "keras_question.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.16.0", "date_saved": "2026-12-01@21:50:00"}))
        z.writestr("config.json", json.dumps(config()))
        z.writestr("model.weights.h5", weights.getvalue())

    x = rng.normal(size=(5, T, D))
    h0 = rng.uniform(-1, 1, (5, H))
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t] @ K.astype(np.float64) + h @ R.astype(np.float64) + b)
    y = h @ W.astype(np.float64) + c
    np.savez(os.path.join(out, "keras_question_expected.npz"), x=x, h0=h0, prediction=y, final_state=h)

main()
