// The wasmnet playground: MNIST loaded in the page, a zoo model (the course's CNN, LeNet-5 or
// VGG-mini) trained in a Web Worker, test digits with guesses, a drawing pad with live class
// probabilities, model download/upload.
// Plain ES modules, no bundler: the library is served beside this file as ./wasmnet/.
import { MNIST_FILES, SequentialNet, Tensor, init, mnistFromIdx, modelZoo, prepareDigit, readIdx, trainInWorker } from './wasmnet/browser.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const GRID = 48;

const state = { ready: false, training: false, done: false, net: null, netUntrained: false, history: [], batches: [], testAccuracy: null, data: null };

/** The zoo's models as the page shows them; architectures as in the doc comments of ts/models.ts. */
const MODELS = {
  course: {
    title: "The course's CNN",
    inText: "the course's CNN",
    architecture: 'conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax',
  },
  lenet5: {
    title: 'LeNet-5',
    architecture: 'conv 6×5×5 pad 2 ReLU → avg-pool 2×2 → conv 16×5×5 ReLU → avg-pool 2×2 → flatten (400) → dense 120 ReLU → dense 84 ReLU → dense 10 SoftMax',
  },
  'vgg-mini': {
    title: 'VGG-mini',
    architecture: '[conv 32×3×3 same → BN ReLU] ×2 → max-pool 2×2 → dropout 0.25 → [conv 64×3×3 same → BN ReLU] ×2 → max-pool 2×2 → dropout 0.25 → flatten (3136) → dense 128 → BN ReLU → dropout 0.5 → dense 10 SoftMax',
    // Measured in headless Chromium on this project's 2-vCPU machine (one worker thread).
    hint: 'VGG-mini is slow: about 70–100 images/s on one core here (the course\'s CNN: ~2,000). Try 1,000 digits first (~15 s); '
      + 'its test accuracy lags its training accuracy until batch norm has seen a few hundred batches (10,000 digits, batch 64: ~2½ min).',
  },
};

/** Shows the selected model in the header and its hint (if any) under the form. */
function describeModel(name) {
  const m = MODELS[name];
  $('model-name').textContent = m.title;
  $('model-architecture').textContent = m.architecture;
  $('model-hint').textContent = m.hint ?? '';
  $('model-hint').hidden = !m.hint;
}

/** A zoo model's name in the middle of a sentence. */
const modelInText = (name) => MODELS[name].inText ?? MODELS[name].title;
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

/** The network in use, what it is (shown in the Model panel), and the test digits it guesses. */
async function useNet(net, info, { untrained = false } = {}) {
  state.net?.dispose();
  state.net = net;
  state.netUntrained = untrained;
  $('model-info').textContent = info;
  await showGrid();
  classifyPad();
}

/** An untrained network of the zoo model `name`. */
function untrained(name) {
  return modelZoo[name]({ seed: Number(params.get('seed') ?? 42) });
}

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

async function showGrid() {
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
  state.testAccuracy = null;
  const measured = await testAccuracy(state.net, test);
  if (measured === null) return; // another network took over meanwhile
  state.testAccuracy = measured.accuracy;
  const all = test.x.shape[0];
  const of = measured.count === all ? all.toLocaleString() : `the first ${measured.count.toLocaleString()} (of ${all.toLocaleString()}; a slow model)`;
  $('accuracy').textContent = `— test accuracy ${(100 * measured.accuracy).toFixed(2)} % of ${of}`;
}

/**
 * `net`'s accuracy on the test digits, measured in chunks with a pause between them so that the page
 * stays responsive, and only on as many as fit in a few seconds (VGG-mini needs ~30 s for all
 * 10,000 in Chromium on one core; the course's CNN and LeNet-5 one or two).
 * Null if `net` stopped being the one in use meanwhile.
 */
async function testAccuracy(net, test, { chunk = 500, budgetMs = 4000 } = {}) {
  const n = test.x.shape[0];
  const started = performance.now();
  let correct = 0;
  let end = 0;
  while (end < n) {
    const start = end;
    end = Math.min(n, start + chunk);
    correct += net.measure(test.x.slice(start, end), test.y.slice(start, end)).accuracy * (end - start);
    if (end < n && performance.now() - started > budgetMs) break;
    if (end < n) {
      $('accuracy').textContent = `— measuring test accuracy… ${end.toLocaleString()} digits`;
      await new Promise((resolve) => setTimeout(resolve));
      if (state.net !== net) return null;
    }
  }
  return { accuracy: correct / end, count: end };
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

/**
 * The worker count for a training run: the select's choice, 'auto' being the
 * page's cores; batch norm (VGG-mini) trains each batch whole, in one. (This
 * page is served cross-origin isolated, so the replicas share memory; without
 * COOP/COEP they would pass rows and gradients by message.)
 */
function workerCount(choice, model) {
  if (model === 'vgg-mini') return 1;
  return choice === 'auto' ? navigator.hardwareConcurrency || 1 : Number(choice);
}

async function train({ n, epochs, batchSize, model = $('train-model').value, seed = Number(params.get('seed') ?? 42), workers = workerCount($('train-workers').value, model) }) {
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
    const { model: bytes, history } = await trainInWorker(worker, x, y, {
      model,
      seed,
      batchSize,
      epochs,
      workers,
      onBatch: (b) => {
        state.batches.push(b);
        const done = (b.epoch - 1) * batchesPerEpoch + b.batch + 1;
        $('progress').value = done / (epochs * batchesPerEpoch);
        const secs = (performance.now() - started) / 1000;
        $('status').textContent = `epoch ${b.epoch}/${epochs}, batch ${b.batch + 1}/${batchesPerEpoch} — loss ${b.loss.toFixed(4)}, accuracy ${(100 * b.accuracy).toFixed(1)} % — ${Math.round((done * batchSize) / secs)} images/s on ${plural(workers, 'worker')}`;
        drawChart();
      },
    });
    state.history = history;
    state.model = bytes;
    const h = history[history.length - 1];
    const secs = (performance.now() - started) / 1000;
    $('status').textContent = `${MODELS[model].title}: trained ${n.toLocaleString()} digits × ${plural(epochs, 'epoch')} in ${secs.toFixed(1)} s (${Math.round((n * epochs) / secs).toLocaleString()} images/s on ${plural(workers, 'worker')}) — loss ${h.loss.toFixed(4)}, training accuracy ${(100 * h.accuracy).toFixed(2)} %`;
    await useNet(SequentialNet.load(bytes), `in use: ${modelInText(model)}, trained on ${n.toLocaleString()} digits × ${plural(epochs, 'epoch')}`);
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

// Choosing another model shows it in the header; an untrained network in use is replaced by the
// new choice (its guesses are as meaningless), a trained or uploaded one stays until Train is pressed.
$('train-model').addEventListener('change', () => {
  const name = $('train-model').value;
  describeModel(name);
  if (state.ready && !state.training && state.netUntrained) useNet(untrained(name), `in use: ${modelInText(name)}, untrained`, { untrained: true });
});

// ------------------------------------------------------------------ model files

$('download').addEventListener('click', () => {
  const blob = new Blob([state.net.save({ meta: { source: 'wasmnet playground' } })], { type: 'application/octet-stream' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'mnist-model.wnet';
  a.click();
  URL.revokeObjectURL(a.href);
});

function loadModel(bytes, name = 'a file') {
  const net = SequentialNet.load(bytes); // throws a clear error on a damaged or foreign file
  return useNet(net, `loaded a model of ${bytes.length.toLocaleString()} bytes from ${name} (${net.parameters().reduce((sum, p) => sum + p.value.length, 0).toLocaleString()} parameters)`);
}

$('upload').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    await loadModel(new Uint8Array(await file.arrayBuffer()), file.name);
  } catch (err) {
    $('model-info').textContent = `could not load ${file.name}: ${err.message}`;
  }
});

// ------------------------------------------------------------------ start

async function start() {
  const requested = params.get('model');
  const unknownModel = requested !== null && !Object.hasOwn(modelZoo, requested);
  if (requested !== null && !unknownModel) $('train-model').value = requested;
  describeModel($('train-model').value);
  $('train-workers').options[0].text = `all cores (${navigator.hardwareConcurrency || 1})`;
  for (const [key, id] of [['n', 'train-n'], ['epochs', 'train-epochs'], ['batch', 'train-batch'], ['workers', 'train-workers']]) {
    if (params.has(key)) {
      const el = $(id);
      if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === params.get(key))) el.add(new Option(params.get(key)));
      el.value = params.get(key);
    }
  }
  clearPad();
  await init();
  state.data = await loadData();
  const name = $('train-model').value;
  const unknownNote = unknownModel ? ` Unknown model ${JSON.stringify(requested)} in the address (known: ${Object.keys(modelZoo).join(', ')}): using ${name}.` : '';
  $('status').textContent = `MNIST loaded: ${state.data.train.x.shape[0].toLocaleString()} training and ${state.data.test.x.shape[0].toLocaleString()} test digits. The network is untrained: press Train.${unknownNote}`;
  $('train-button').disabled = false;
  await useNet(untrained(name), `in use: ${modelInText(name)}, untrained`, { untrained: true });
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
