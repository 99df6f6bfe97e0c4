// Builds data/sunspots-varlen.npz from data/sunspots.csv: variable-length histories of the
// yearly sunspot activity, each ending at one year and labelled with the next year's activity.
//
//   node tools/data/sunspot-sequences.js
//
// Row r ends at year 1740 + r (r = 0 .. 267) and holds its last L years, L drawn from 8..40 by
// a fixed generator, post-padded to 40 steps ('lengths' gives L). Features per step: activity / 100
// and the step's position (t + 1) / 40, so no real step is all zeros (the padding's mask value).
'use strict';
const fs = require('fs');
const path = require('path');
const npz = require('../tfjs/npz');

const root = path.join(__dirname, '..', '..');
const lines = fs.readFileSync(path.join(root, 'data', 'sunspots.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
const activity = new Map(lines.map(l => l.split(',')).map(([y, v]) => [Math.round(Number(y)), Number(v)]));

let state = 12345;
const next = () => {
  // LCG (Numerical Recipes), enough to draw fixed lengths.
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
};

const T = 40, F = 2;
const x = [], y = [], lengths = [];
for (let end = 1740; end <= 2007; end++) {
  const length = 8 + Math.floor(next() * (T - 8 + 1));
  for (let t = 0; t < T; t++) {
    const year = end - length + 1 + t;
    if (t < length) x.push(activity.get(year) / 100, (t + 1) / T);
    else x.push(0, 0);
  }
  y.push(activity.get(end + 1) / 100);
  lengths.push(length);
}
const rows = lengths.length;
npz.writeNpz(path.join(root, 'data', 'sunspots-varlen.npz'), [
  ['x', npz.float64([rows, T, F], x)],
  ['y', npz.float64([rows, 1], y)],
  ['lengths', npz.int32([rows], lengths)],
]);
console.log(`wrote data/sunspots-varlen.npz: ${rows} rows, lengths ${Math.min(...lengths)}..${Math.max(...lengths)}`);
