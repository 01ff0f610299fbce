// The wasmnet playground: MNIST loaded in the page, the course's CNN trained in a Web Worker,
// test digits with guesses, a drawing pad with live class probabilities, model download/upload.
// Plain ES modules, no bundler: the library is served beside this file as ./wasmnet/.
import { MNIST_FILES, SequentialNet, Tensor, courseCnn, init, mnistFromIdx, prepareDigit, readIdx, trainInWorker } from './wasmnet/browser.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const GRID = 48;

const state = { ready: false, training: false, done: false, net: null, history: [], batches: [], testAccuracy: null, data: null };

/** Fetches and parses one IDX file served beside the page (gzipped; readIdx inflates it). */
async function idx(name) {
  const response = await fetch(`data/${name}.gz`);
  if (!response.ok) throw new Error(`data/${name}.gz: HTTP ${response.status}`);
  return { ...readIdx(new Uint8Array(await response.arrayBuffer()), name), name };
}

async function loadData() {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels].map(idx),
  );
  return { train: mnistFromIdx(trainImages, trainLabels), test: mnistFromIdx(testImages, testLabels) };
}

// ------------------------------------------------------------------ chart

function drawChart() {
  const canvas = $('chart');
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  const top = 20; // a caption row above the plot, so it never covers the curves
  const plotH = h - top - 2;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#e3e3ea';
  for (let i = 0; i <= 4; i++) {
    ctx.beginPath();
    ctx.moveTo(0, top + (plotH * i) / 4);
    ctx.lineTo(w, top + (plotH * i) / 4);
    ctx.stroke();
  }
  const b = state.batches;
  if (b.length < 2) return;
  const maxLoss = Math.max(...b.map((x) => x.loss), 0.1);
  const line = (values, color, scale) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (w - 4) + 2;
      const y = top + plotH - (Math.min(v, scale) / scale) * plotH;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  };
  line(b.map((x) => x.loss), '#2563eb', maxLoss);
  line(b.map((x) => x.accuracy), '#2ca02c', 1);
  ctx.fillStyle = '#6b6b78';
  ctx.font = '12px system-ui';
  ctx.fillText(`batch ${b.length}: loss ${b[b.length - 1].loss.toFixed(3)} (scale 0–${maxLoss.toFixed(2)}), accuracy ${(100 * b[b.length - 1].accuracy).toFixed(1)} % (scale 0–100 %)`, 4, 14);
}

// ------------------------------------------------------------------ test digits

function showGrid() {
  const { test } = state.data;
  const n = Math.min(GRID, test.x.shape[0]);
  const guesses = state.net.evaluate(test.x.slice(0, n)).argmax();
  const [, , rows, cols] = test.x.shape;
  const pixels = rows * cols;
  const grid = $('grid');
  grid.replaceChildren();
  for (let k = 0; k < n; k++) {
    const cell = document.createElement('div');
    const wrong = guesses[k] !== test.labels[k];
    cell.className = wrong ? 'digit wrong' : 'digit';
    const c = document.createElement('canvas');
    c.width = cols;
    c.height = rows;
    const img = c.getContext('2d').createImageData(cols, rows);
    for (let i = 0; i < pixels; i++) {
      const v = Math.round(255 * test.x.data[k * pixels + i]);
      img.data.set([v, v, v, 255], 4 * i);
    }
    c.getContext('2d').putImageData(img, 0, 0);
    cell.append(c, `${test.labels[k]} → ${guesses[k]}`);
    grid.append(cell);
  }
  const { accuracy } = state.net.measure(test.x, test.y);
  state.testAccuracy = accuracy;
  $('accuracy').textContent = `— test accuracy ${(100 * accuracy).toFixed(2)} % of ${test.x.shape[0].toLocaleString()}`;
}

// ------------------------------------------------------------------ drawing pad

const pad = $('pad');
const padCtx = pad.getContext('2d', { willReadFrequently: true });
let drawing = false;
let last = null;
let pending = false;

function clearPad() {
  padCtx.fillStyle = '#fff';
  padCtx.fillRect(0, 0, pad.width, pad.height);
  showBars(null);
}

function padPoint(e) {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
}

pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = padPoint(e);
  pad.setPointerCapture(e.pointerId);
  stroke(e);
});
pad.addEventListener('pointermove', (e) => drawing && stroke(e));
for (const type of ['pointerup', 'pointercancel']) pad.addEventListener(type, () => (drawing = false));
$('clear').addEventListener('click', clearPad);

function stroke(e) {
  const p = padPoint(e);
  padCtx.strokeStyle = '#000';
  padCtx.lineWidth = 18;
  padCtx.lineCap = 'round';
  padCtx.beginPath();
  padCtx.moveTo(...last);
  padCtx.lineTo(...p);
  padCtx.stroke();
  last = p;
  if (!pending) {
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      classifyPad();
    });
  }
}

/** The pad's class probabilities (prepareDigit makes it MNIST-like: cropped, 20 px, centred). */
function classifyPad() {
  if (!state.net) return null;
  const { data } = padCtx.getImageData(0, 0, pad.width, pad.height);
  const input = prepareDigit(data, pad.width, pad.height);
  if (input.every((v) => v === 0)) return showBars(null);
  const p = Array.from(state.net.evaluate(new Tensor(input, [1, 1, 28, 28])).data);
  showBars(p);
  return p;
}

function showBars(p) {
  state.padProbabilities = p;
  const bars = $('bars');
  bars.replaceChildren();
  const top = p ? p.indexOf(Math.max(...p)) : -1;
  for (let d = 0; d < 10; d++) {
    const row = document.createElement('div');
    row.className = d === top ? 'bar top' : 'bar';
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.width = `${p ? 100 * p[d] : 0}%`;
    const pct = document.createElement('span');
    pct.textContent = p ? `${(100 * p[d]).toFixed(1)} %` : '';
    row.append(String(d), fill, pct);
    bars.append(row);
  }
}

// ------------------------------------------------------------------ training

async function train({ n, epochs, batchSize, seed = Number(params.get('seed') ?? 42) }) {
  state.training = true;
  state.done = false;
  state.batches = [];
  $('train-button').disabled = true;
  const { train: data } = state.data;
  const x = data.x.slice(0, n);
  const y = data.y.slice(0, n);
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const worker = new Worker(new URL('./wasmnet/worker.js', import.meta.url), { type: 'module' });
  const started = performance.now();
  try {
    const { model, history } = await trainInWorker(worker, x, y, {
      seed,
      batchSize,
      epochs,
      onBatch: (b) => {
        state.batches.push(b);
        const done = (b.epoch - 1) * batchesPerEpoch + b.batch + 1;
        $('progress').value = done / (epochs * batchesPerEpoch);
        const secs = (performance.now() - started) / 1000;
        $('status').textContent = `epoch ${b.epoch}/${epochs}, batch ${b.batch + 1}/${batchesPerEpoch} — loss ${b.loss.toFixed(4)}, accuracy ${(100 * b.accuracy).toFixed(1)} % — ${Math.round((done * batchSize) / secs)} images/s`;
        drawChart();
      },
    });
    state.net?.dispose();
    state.net = SequentialNet.load(model);
    state.history = history;
    state.model = model;
    const h = history[history.length - 1];
    $('status').textContent = `trained ${n.toLocaleString()} digits × ${epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s — loss ${h.loss.toFixed(4)}, training accuracy ${(100 * h.accuracy).toFixed(2)} %`;
    showGrid();
    classifyPad();
    state.done = true;
    return history;
  } catch (e) {
    $('status').textContent = `training failed: ${e.message}`;
    throw e;
  } finally {
    worker.terminate();
    state.training = false;
    $('train-button').disabled = false;
  }
}

$('train-form').addEventListener('submit', (e) => {
  e.preventDefault();
  train({ n: Number($('train-n').value), epochs: Number($('train-epochs').value), batchSize: Number($('train-batch').value) }).catch(() => {});
});

// ------------------------------------------------------------------ model files

$('download').addEventListener('click', () => {
  const blob = new Blob([state.net.save({ meta: { source: 'wasmnet playground' } })], { type: 'application/octet-stream' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'mnist-cnn.wnet';
  a.click();
  URL.revokeObjectURL(a.href);
});

function loadModel(bytes) {
  const net = SequentialNet.load(bytes); // throws a clear error on a damaged or foreign file
  state.net?.dispose();
  state.net = net;
  $('model-info').textContent = `loaded a model of ${bytes.length.toLocaleString()} bytes`;
  showGrid();
  classifyPad();
}

$('upload').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    loadModel(new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    $('model-info').textContent = `could not load ${file.name}: ${err.message}`;
  }
});

// ------------------------------------------------------------------ start

async function start() {
  for (const [key, id] of [['n', 'train-n'], ['epochs', 'train-epochs'], ['batch', 'train-batch']]) {
    if (params.has(key)) {
      const el = $(id);
      if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === params.get(key))) el.add(new Option(params.get(key)));
      el.value = params.get(key);
    }
  }
  clearPad();
  await init();
  state.data = await loadData();
  state.net = courseCnn({ seed: Number(params.get('seed') ?? 42) });
  $('status').textContent = `MNIST loaded: ${state.data.train.x.shape[0].toLocaleString()} training and ${state.data.test.x.shape[0].toLocaleString()} test digits. The network is untrained: press Train.`;
  showGrid();
  $('train-button').disabled = false;
  state.ready = true;
}

// For people poking at the page and for the browser tests (test/browser.test.ts).
window.playground = {
  state,
  ready: start().catch((e) => {
    $('status').textContent = `could not start: ${e.message}`;
    throw e;
  }),
  train,
  loadModel,
  classifyPad,
  /** Class probabilities for test digits 0..count-1. */
  predictTest: (count) => Array.from(state.net.evaluate(state.data.test.x.slice(0, count)).data),
  modelBytes: () => state.net.save(),
};
