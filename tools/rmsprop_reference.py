#!/usr/bin/env python3
"""RMSprop reference values for tests/RnnCluster.Tests/Model/OptimizerTests.cs.

Follows keras/src/optimizers/rmsprop.py (Keras 3), RMSprop.update_step with centered=False,
statement by statement, in float64 (Python floats), with no numpy so it runs anywhere:

    velocity = rho * velocity + (1 - rho) * square(gradient)
    denominator = velocity + epsilon
    increment = lr * gradient / sqrt(denominator)
    if momentum > 0: momentum_slot = momentum * momentum_slot + increment; variable -= momentum_slot
    else:            variable -= increment

The start weights and gradients are the test's float32 values, widened exactly (float.hex of the
float32 value). Run: python3 tools/rmsprop_reference.py; paste the printed arrays into the test.
"""
import math
import struct


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


START = [f32(v) for v in (0.5, -1.25, 2.0, 0.0, -0.3, 0.05)]
GRADIENTS = [
    [f32(v) for v in (0.2, -0.5, 1.5, 0.0, 1e-4, -3e-4)],
    [f32(v) for v in (-0.1, -0.4, 1.2, 0.3, 2e-4, -1e-4)],
    [f32(v) for v in (0.05, 0.6, -0.8, -0.2, -1e-4, 2e-4)],
]


def rmsprop(lr, rho, momentum, epsilon):
    variable = list(START)
    velocity = [0.0] * len(variable)
    momentum_slot = [0.0] * len(variable)
    for gradient in GRADIENTS:
        for i, g in enumerate(gradient):
            velocity[i] = rho * velocity[i] + (1 - rho) * (g * g)
            increment = (lr * g) / math.sqrt(velocity[i] + epsilon)
            if momentum > 0:
                momentum_slot[i] = momentum * momentum_slot[i] + increment
                variable[i] -= momentum_slot[i]
            else:
                variable[i] -= increment
    return variable


# The test passes learning rate, rho and momentum as float32 (the engine's OptimizerSpec).
for name, args in (("without momentum", (f32(0.01), f32(0.9), 0.0, f32(1e-7))),
                   ("with momentum 0.5", (f32(0.01), f32(0.9), f32(0.5), f32(1e-7)))):
    print(name + ": [" + ", ".join(repr(v) for v in rmsprop(*args)) + "]")
