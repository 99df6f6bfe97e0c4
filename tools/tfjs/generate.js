// Generates the Keras reference cases in tests/fixtures/keras (format: FORMAT.md there).
//
//   cd tools/tfjs && npm install && node generate.js [output folder]
//
// Each case is a small model with fixed weights, a batch with padded (masked) steps, per-row
// initial states, and what Keras computes from them: prediction, final states, the loss and the
// gradient of the loss with respect to every weight and every initial state, and for stateful
// cases a second batch run from the first batch's final states.
//
// The numbers come from TensorFlow.js 4.22.0 (pure JS, CPU backend, float32): the model is
// written here with tfjs ops following Keras's own equations and its rnn() loop (keras
// layers/rnn/rnn.py and backend rnn()), and differentiated by tfjs's autodiff (tf.grads).
// Every case is also run through tfjs's own Keras layers (tf.layers.masking, lstm, simpleRNN,
// dense, stateful layers with resetStates) where tfjs implements the same semantics, and the
// generator stops if the two disagree. Where tfjs and Keras differ, Keras wins:
//  - tfjs's GRU has no reset_after (it throws for resetAfter: true); Keras's default, and the
//    engine's GRU, is reset_after=True, so GRU cases are checked against the ops version only.
//  - tfjs's rnn() gives a masked step the previous *state* h as its output; Keras gives the
//    previous *output*, which starts at zeros: they differ before a row's first unmasked step
//    when the initial state is not zero. The cases follow Keras; the tfjs cross-check runs
//    with the initial states where they agree (zero states for leading padding).
//  - tfjs's fit() ignores masks in losses; the loss here is Keras 3's: the mean of the
//    per-step losses over the unmasked steps of the whole batch.
'use strict';
const path = require('path');
const fs = require('fs');
const tf = require('@tensorflow/tfjs');
const npz = require('./npz');

// ---- deterministic inputs ----

function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [-scale, scale), rounded to float32 so the engine reads exactly what tfjs used. */
function uniform(random, shape, scale) {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale), shape);
}

// ---- the model, with Keras's equations ----

function gatesOf(z, n, units) {
  return tf.split(z, n, 1).map(g => g.reshape([-1, units]));
}

/** One step of a cell: returns [output, states]. */
function cellStep(layer, w, x, states) {
  const h = states[0];
  const u = layer.units;
  switch (layer.kind) {
    case 'simple_rnn': {
      const next = tf.tanh(tf.add(tf.add(tf.matMul(x, w.kernel), tf.matMul(h, w.recurrent_kernel)), w.bias));
      return [next, [next]];
    }
    case 'lstm': {
      const z = tf.add(tf.add(tf.matMul(x, w.kernel), tf.matMul(h, w.recurrent_kernel)), w.bias);
      const [i, f, g, o] = gatesOf(z, 4, u);
      const c = tf.add(tf.mul(tf.sigmoid(f), states[1]), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      const next = tf.mul(tf.sigmoid(o), tf.tanh(c));
      return [next, [next, c]];
    }
    case 'gru': {
      // reset_after=True: bias row 0 for the input part, row 1 for the recurrent part.
      const [b0, b1] = tf.unstack(w.bias);
      const mx = tf.add(tf.matMul(x, w.kernel), b0);
      const mh = tf.add(tf.matMul(h, w.recurrent_kernel), b1);
      const [xz, xr, xh] = gatesOf(mx, 3, u);
      const [hz, hr, hh] = gatesOf(mh, 3, u);
      const z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      const candidate = tf.tanh(tf.add(xh, tf.mul(r, hh)));
      const next = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate));
      return [next, [next]];
    }
    default:
      throw new Error(layer.kind);
  }
}

/**
 * Keras's rnn(): steps in processing order (reversed for go_backwards); on a masked step the
 * states keep their values and the output is the previous output, which starts at zeros.
 * Returns the outputs (processing order) or the last output, and the final states.
 */
function rnn(layer, w, x, mask, initialStates) {
  const steps = tf.unstack(x, 1);
  const maskSteps = mask ? tf.unstack(mask, 1) : null;
  const t = steps.length;
  let states = initialStates;
  let previous = tf.zerosLike(initialStates[0]);
  const outputs = [];
  for (let s = 0; s < t; s++) {
    const at = layer.go_backwards ? t - 1 - s : s;
    let [out, next] = cellStep(layer, w, steps[at], states);
    if (maskSteps) {
      const m = maskSteps[at].reshape([-1, 1]);
      const keep = (a, b) => tf.add(tf.mul(m, a), tf.mul(tf.sub(1, m), b));
      out = keep(out, previous);
      next = next.map((v, k) => keep(v, states[k]));
    }
    outputs.push(out);
    previous = out;
    states = next;
  }
  return { output: layer.return_sequences ? tf.stack(outputs, 1) : previous, states };
}

function dense(layer, w, x) {
  // On the last axis: at every timestep of a sequence.
  const flat = x.reshape([-1, x.shape[x.rank - 1]]);
  const y = tf.add(tf.matMul(flat, w.kernel), w.bias).reshape([...x.shape.slice(0, -1), w.kernel.shape[1]]);
  switch (layer.activation || 'linear') {
    case 'linear': return y;
    case 'tanh': return tf.tanh(y);
    case 'sigmoid': return tf.sigmoid(y);
    case 'softmax': return tf.softmax(y);
    default: throw new Error(layer.activation);
  }
}

/** Runs the model; `weights[name]` and `states[k]` are tensors. Returns prediction, final states and the output's mask. */
function forward(c, weights, x, states) {
  let h = x, mask = null, slot = 0;
  const finals = [];
  c.model.layers.forEach((layer, i) => {
    const name = layerName(c, i);
    const w = {};
    for (const key of ['kernel', 'recurrent_kernel', 'bias']) if (weights[`${name}.${key}`]) w[key] = weights[`${name}.${key}`];
    if (layer.kind === 'embedding') {
      // Keras Embedding: x holds one token id per step (B, T, 1); mask_zero masks token 0.
      const ids = tf.cast(tf.squeeze(h, [2]), 'int32');
      if (layer.mask_zero) mask = tf.cast(tf.notEqual(ids, 0), 'float32');
      h = tf.gather(weights[`${name}.embeddings`], ids);
    } else if (layer.kind === 'masking') {
      // Keras Masking: a step is masked when every feature equals mask_value; the output is input * mask.
      mask = tf.cast(tf.any(tf.notEqual(h, layer.mask_value ?? 0), -1), 'float32');
      h = tf.mul(h, mask.expandDims(-1));
    } else if (layer.kind === 'dense') {
      h = dense(layer, w, h);
    } else {
      const count = layer.kind === 'lstm' ? 2 : 1;
      const result = rnn(layer, w, h, mask, states.slice(slot, slot + count));
      slot += count;
      finals.push(...result.states);
      h = result.output;
      // Keras passes the mask on (unreversed) from a layer that returns sequences.
      if (!layer.return_sequences) mask = null;
    }
  });
  return { prediction: h, finals, mask };
}

/** Keras 3's mean: per-step mse over the last axis, averaged over unmasked steps (over rows without a time axis). */
function loss(c, prediction, y, mask) {
  const perVector = tf.mean(tf.square(tf.sub(prediction, y)), -1);
  if (!mask || prediction.rank === 2) return tf.mean(perVector);
  return tf.div(tf.sum(tf.mul(perVector, mask)), tf.sum(mask));
}

function layerName(c, i) {
  const layers = c.model.layers;
  if (layers[i].name) return layers[i].name;
  if (layers[i].kind === 'dense' && layers.filter(l => l.kind === 'dense').length === 1) return 'dense';
  return `layer${i}`;
}

// ---- cases ----

function weightShapes(c) {
  const shapes = [];
  let width = c.model.input_features;
  c.model.layers.forEach((layer, i) => {
    const name = layerName(c, i);
    if (layer.kind === 'masking') return;
    if (layer.kind === 'embedding') {
      shapes.push([`${name}.embeddings`, [layer.input_dim, layer.output_dim]]);
      width = layer.output_dim;
      return;
    }
    const u = layer.units;
    if (layer.kind === 'dense') {
      shapes.push([`${name}.kernel`, [width, u]], [`${name}.bias`, [u]]);
    } else {
      const g = { simple_rnn: 1, lstm: 4, gru: 3 }[layer.kind] * u;
      shapes.push([`${name}.kernel`, [width, g]], [`${name}.recurrent_kernel`, [u, g]],
        [`${name}.bias`, layer.kind === 'gru' ? [2, g] : [g]]);
    }
    width = u;
  });
  return shapes;
}

function stateSlots(c) {
  const slots = [];
  c.model.layers.forEach((layer, i) => {
    if (!['simple_rnn', 'lstm', 'gru'].includes(layer.kind)) return;
    slots.push([i, 0, layer.units]);
    if (layer.kind === 'lstm') slots.push([i, 1, layer.units]);
  });
  return slots;
}

/** x with rows padded: kept[b][t] says which steps carry data; the others hold mask_value in every feature. */
function paddedInput(random, kept, features, maskValue) {
  const b = kept.length, t = kept[0].length;
  const values = uniform(random, [b, t, features], 1).arraySync();
  for (let r = 0; r < b; r++)
    for (let s = 0; s < t; s++)
      if (!kept[r][s]) values[r][s] = new Array(features).fill(maskValue);
  return tf.tensor(values);
}

/** Token ids (B, T, 1) in [1, vocabulary) where kept, 0 (padding) elsewhere. */
function tokenInput(random, kept, vocabulary) {
  return tf.tensor(kept.map(row => row.map(on => [on ? 1 + Math.floor(random() * (vocabulary - 1)) : 0])));
}

function trailing(lengths, t) {
  return lengths.map(n => Array.from({ length: t }, (_, s) => s < n));
}

function leading(lengths, t) {
  return lengths.map(n => Array.from({ length: t }, (_, s) => s >= t - n));
}

const masking = { kind: 'masking', mask_value: 0 };

const CASES = [
  {
    name: 'masked_lstm_trailing',
    about: 'LSTM(4) over post-padded rows (lengths 5, 3, 1, 4), last output; non-zero initial states',
    model: { input_features: 3, layers: [masking, { kind: 'lstm', units: 4 }, { kind: 'dense', units: 2 }] },
    kept: trailing([5, 3, 1, 4], 5), seed: 101, crossCheckStates: true,
  },
  {
    name: 'masked_lstm_leading_sequences',
    about: 'LSTM(3, return_sequences) over pre-padded rows (lengths 5, 2, 0, 4), Dense on every step; '
      + 'non-zero initial states, so the outputs before each row\'s first step are zeros (Keras), not the initial h (tfjs)',
    model: { input_features: 2, layers: [masking, { kind: 'lstm', units: 3, return_sequences: true }, { kind: 'dense', units: 2 }] },
    kept: leading([5, 2, 0, 4], 5), seed: 102, crossCheckStates: false,
  },
  {
    name: 'masked_gru_trailing_sequences',
    about: 'GRU(3, return_sequences, reset_after) over post-padded rows (lengths 4, 1, 3), Dense on every step; non-zero initial state',
    model: { input_features: 3, layers: [masking, { kind: 'gru', units: 3, return_sequences: true }, { kind: 'dense', units: 2 }] },
    kept: trailing([4, 1, 3], 4), seed: 103,
  },
  {
    name: 'masked_gru_leading_backwards',
    about: 'GRU(4, go_backwards, reset_after) over pre-padded rows (lengths 6, 2, 4, 0), last output; non-zero initial state',
    model: { input_features: 2, layers: [masking, { kind: 'gru', units: 4, go_backwards: true }, { kind: 'dense', units: 1 }] },
    kept: leading([6, 2, 4, 0], 6), seed: 104,
  },
  {
    name: 'masked_stacked_simple_rnn_lstm',
    about: 'SimpleRNN(3, return_sequences) -> LSTM(3) with the mask passed on, post-padded rows (lengths 4, 2, 3)',
    model: { input_features: 2, layers: [masking, { kind: 'simple_rnn', units: 3, return_sequences: true }, { kind: 'lstm', units: 3 }, { kind: 'dense', units: 2 }] },
    kept: trailing([4, 2, 3], 4), seed: 105, crossCheckStates: true,
  },
  {
    name: 'embedding_mask_zero_gru',
    about: 'Embedding(9, 3, mask_zero) over post-padded token rows (lengths 5, 2, 4, 0) -> GRU(4, return_sequences, reset_after) -> Dense(2); non-zero initial state',
    model: { input_features: 1, layers: [{ kind: 'embedding', input_dim: 9, output_dim: 3, mask_zero: true }, { kind: 'gru', units: 4, return_sequences: true }, { kind: 'dense', units: 2 }] },
    kept: trailing([5, 2, 4, 0], 5), tokens: 9, seed: 107,
  },
  {
    name: 'embedding_mask_zero_lstm',
    about: 'Embedding(8, 4, mask_zero) over post-padded token rows (lengths 6, 3, 1) -> LSTM(3) -> Dense(1); non-zero initial states',
    model: { input_features: 1, layers: [{ kind: 'embedding', input_dim: 8, output_dim: 4, mask_zero: true }, { kind: 'lstm', units: 3 }, { kind: 'dense', units: 1 }] },
    kept: trailing([6, 3, 1], 6), tokens: 8, seed: 108, crossCheckStates: true,
  },
  {
    name: 'masked_lstm_stateful',
    about: 'stateful LSTM(3) over two batches of post-padded rows: the second batch starts from the first batch\'s '
      + 'last unmasked states (lengths 4, 2, 1 then 2, 4, 3)',
    model: { input_features: 2, layers: [masking, { kind: 'lstm', units: 3 }, { kind: 'dense', units: 1 }] },
    kept: trailing([4, 2, 1], 4), kept2: trailing([2, 4, 3], 4), seed: 106, crossCheckStates: true,
  },
];

function build(c) {
  const random = generator(c.seed);
  const weights = {};
  for (const [name, shape] of weightShapes(c)) weights[name] = uniform(random, shape, 0.6);
  const slots = stateSlots(c);
  const batch = c.kept.length, t = c.kept[0].length, d = c.model.input_features;
  const states = slots.map(([, , u]) => uniform(random, [batch, u], 0.5));
  const x = c.tokens ? tokenInput(random, c.kept, c.tokens) : paddedInput(random, c.kept, d, 0);
  const probe = forward(c, weights, x, states);
  const y = uniform(random, probe.prediction.shape, 1);

  const names = Object.keys(weights);
  const lossOf = (...args) => {
    const w = Object.fromEntries(names.map((n, i) => [n, args[i]]));
    const s = args.slice(names.length);
    const out = forward(c, w, x, s);
    return loss(c, out.prediction, y, out.mask);
  };
  const grads = tf.grads(lossOf)([...names.map(n => weights[n]), ...states]);
  const result = forward(c, weights, x, states);
  const value = lossOf(...names.map(n => weights[n]), ...states);

  const entries = [];
  const caseJson = { name: c.name, about: c.about, model: c.model, loss: 'mse', batch, timesteps: t, features: d, notes: NOTES };
  entries.push(['case.json', npz.bytes(Buffer.from(JSON.stringify(caseJson, null, 1), 'utf8'))]);
  const put = (key, tensor) => entries.push([key, npz.float64(tensor.shape, Array.from(tensor.dataSync()))]);
  put('x', x);
  put('y', y);
  entries.push(['lengths', npz.int32([batch], c.kept.map(r => r.filter(Boolean).length))]);
  for (const n of names) put(n, weights[n]);
  slots.forEach(([i, s], k) => put(`layer${i}.initial_state${s}`, states[k]));
  put('expected.prediction', result.prediction);
  put('expected.loss', value.reshape([1]));
  slots.forEach(([i, s], k) => put(`expected.layer${i}.final_state${s}`, result.finals[k]));
  names.forEach((n, k) => put(`expected.grad.${n}`, grads[k]));
  slots.forEach(([i, s], k) => put(`expected.grad.layer${i}.initial_state${s}`, grads[names.length + k]));
  let second = null;
  if (c.kept2) {
    const x2 = c.tokens ? tokenInput(random, c.kept2, c.tokens) : paddedInput(random, c.kept2, d, 0);
    second = forward(c, weights, x2, result.finals);
    put('stateful.x2', x2);
    entries.push(['stateful.lengths2', npz.int32([batch], c.kept2.map(r => r.filter(Boolean).length))]);
    put('expected.stateful.prediction2', second.prediction);
    slots.forEach(([i, s], k) => put(`expected.stateful.layer${i}.final_state${s}`, second.finals[k]));
    second.x2 = x2;
  }
  crossCheck(c, weights, x, states, result, second);
  return entries;
}

/** Runs the case through tfjs's own Keras layers (LSTM, SimpleRNN, Dense, Masking) and stops on disagreement. */
function crossCheck(c, weights, x, states, result, second) {
  if (c.model.layers.some(l => l.kind === 'gru')) return; // tfjs's GRU is reset_before only
  const batch = x.shape[0], t = x.shape[1];
  const stateful = !!c.kept2;
  const useStates = c.crossCheckStates;
  const layers = c.model.layers.map((l, i) => {
    const first = i === 0 ? { batchInputShape: [batch, t, c.model.input_features] } : {};
    switch (l.kind) {
      case 'masking': return tf.layers.masking({ maskValue: l.mask_value, ...first });
      // tfjs's Embedding takes ids (B, T): the cross-check feeds x without its feature axis.
      case 'embedding': return tf.layers.embedding({ inputDim: l.input_dim, outputDim: l.output_dim, maskZero: !!l.mask_zero, batchInputShape: [batch, t] });
      case 'dense': return tf.layers.dense({ units: l.units });
      default: {
        const args = { units: l.units, returnSequences: !!l.return_sequences, goBackwards: !!l.go_backwards, stateful: true, ...first };
        return l.kind === 'lstm' ? tf.layers.lstm({ ...args, recurrentActivation: 'sigmoid' }) : tf.layers.simpleRNN(args);
      }
    }
  });
  const model = tf.sequential({ layers });
  const ordered = [];
  c.model.layers.forEach((l, i) => {
    const name = layerName(c, i);
    if (l.kind === 'masking') return;
    if (l.kind === 'embedding') {
      ordered.push(weights[`${name}.embeddings`]);
      return;
    }
    ordered.push(weights[`${name}.kernel`]);
    if (l.kind !== 'dense') ordered.push(weights[`${name}.recurrent_kernel`]);
    ordered.push(weights[`${name}.bias`]);
  });
  model.setWeights(ordered);
  // Stateful layers with resetStates(values) carry the given initial states into predict().
  let slot = 0;
  const recurrent = [];
  c.model.layers.forEach((l, i) => {
    if (['simple_rnn', 'lstm'].includes(l.kind)) {
      const count = l.kind === 'lstm' ? 2 : 1;
      recurrent.push([layers[i], count, slot]);
      slot += count;
    }
  });
  const given = useStates ? states : states.map(s => tf.zerosLike(s));
  for (const [layer, count, at] of recurrent) layer.resetStates(given.slice(at, at + count));
  const expected = useStates ? result : forward(c, weights, x, given);
  const check = (what, a, b) => {
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    if (!(diff < 2e-6)) throw new Error(`${c.name}: tfjs layers disagree on ${what} by ${diff}`);
  };
  const feed = v => (c.tokens ? tf.squeeze(v, [2]) : v);
  check('prediction', model.predict(feed(x)), expected.prediction);
  for (const [layer, count, at] of recurrent)
    for (let k = 0; k < count; k++) check(`state ${at + k}`, layer.states_[k], expected.finals[at + k]);
  if (stateful && useStates) {
    check('stateful prediction2', model.predict(feed(second.x2)), second.prediction);
    for (const [layer, count, at] of recurrent)
      for (let k = 0; k < count; k++) check(`stateful state ${at + k}`, layer.states_[k], second.finals[at + k]);
  }
  console.log(`${c.name}: tfjs layers agree${useStates ? '' : ' (from zero initial states)'}`);
}

const NOTES = 'Generated by tools/tfjs/generate.js with TensorFlow.js 4.22.0 (CPU backend, float32). '
  + 'Keras semantics where tfjs differs: masked outputs before a row\'s first unmasked step are zeros '
  + '(tfjs: the initial h); GRU is reset_after=True (tfjs: reset_before only, so GRU cases are not '
  + 'cross-checked against tfjs layers); the loss is the mean over unmasked steps (tfjs fit ignores masks).';

function main() {
  const out = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'fixtures', 'keras'));
  fs.mkdirSync(out, { recursive: true });
  tf.setBackend('cpu');
  for (const c of CASES) {
    const entries = tf.tidy(() => build(c));
    npz.writeNpz(path.join(out, `${c.name}.npz`), entries);
    console.log(`wrote ${c.name}.npz (${entries.length} arrays)`);
  }
}

main();
