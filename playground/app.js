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
    hint: 'VGG-mini is slow: about 70–100 images/s on one core here (the course\'s CNN: ~2,000), more with every core as workers. Try 1,000 digits first; '
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

/**
 * Fetches one file, reporting bytes as they arrive: `onProgress(loaded, total)` (total 0 when the
 * server does not say), so the page can show how far the 11 MB of MNIST have come.
 */
async function fetchBytes(url, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress(bytes.length, total);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

const MB = (bytes) => (bytes / 1e6).toFixed(1);

/** MNIST's four IDX files, gzipped beside the page, with the download's progress in the status line and bar. */
async function loadData() {
  const names = [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels];
  const loaded = names.map(() => 0);
  const totals = names.map(() => 0);
  const show = () => {
    const got = loaded.reduce((a, b) => a + b, 0);
    const total = totals.every((t) => t > 0) ? totals.reduce((a, b) => a + b, 0) : 0;
    $('status').textContent = total ? `Loading MNIST… ${MB(got)} of ${MB(total)} MB` : `Loading MNIST… ${MB(got)} MB`;
    if (total) $('progress').value = got / total;
    else $('progress').removeAttribute('value'); // indeterminate
  };
  show();
  const files = await Promise.all(
    names.map((name, i) =>
      fetchBytes(`data/${name}.gz`, (got, total) => {
        loaded[i] = got;
        totals[i] = total;
        show();
      }),
    ),
  );
  $('status').textContent = 'Unpacking MNIST…';
  await new Promise((resolve) => setTimeout(resolve)); // let the status paint before the synchronous inflate
  const [trainImages, trainLabels, testImages, testLabels] = files.map((bytes, i) => ({ ...readIdx(bytes, names[i]), name: names[i] }));
  $('progress').value = 0;
  return { train: mnistFromIdx(trainImages, trainLabels), test: mnistFromIdx(testImages, testLabels) };
}

// ------------------------------------------------------------------ chart

/** A round step for about `count` ticks over [0, max]: 1, 2 or 5 times a power of ten. */
function niceStep(max, count) {
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

/**
 * Loss and accuracy per batch, each on its own axis (loss left, accuracy 0–100 % right), batches
 * along the bottom and dashed lines where epochs begin. Drawn at the device pixel ratio, so text and
 * lines are sharp on high-density screens; redrawn when the canvas changes size.
 */
function drawChart() {
  const canvas = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (w === 0 || h === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.documentElement);
  const [lossColor, accColor, muted, line] = ['--accent', '--good', '--muted', '--line'].map((v) => css.getPropertyValue(v).trim());
  const m = { left: 52, right: 60, top: 12, bottom: 34 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const b = state.batches;
  const maxLossData = b.length ? Math.max(...b.map((x) => x.loss)) : 2.5;
  const lossStep = niceStep(maxLossData, 4);
  const maxLoss = Math.ceil(maxLossData / lossStep) * lossStep;
  const n = Math.max(b.length, 2);
  const xAt = (i) => m.left + (i / (n - 1)) * pw;
  const yLoss = (v) => m.top + ph - (Math.min(v, maxLoss) / maxLoss) * ph;
  const yAcc = (v) => m.top + ph - v * ph;
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  // Grid lines at the loss ticks; labels on both sides.
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= maxLoss + 1e-9; v += lossStep) {
    const y = Math.round(yLoss(v)) + 0.5;
    ctx.strokeStyle = line;
    ctx.beginPath();
    ctx.moveTo(m.left, y);
    ctx.lineTo(m.left + pw, y);
    ctx.stroke();
    ctx.fillStyle = lossColor;
    ctx.textAlign = 'right';
    ctx.fillText(Number(v.toFixed(3)).toString(), m.left - 6, y);
  }
  ctx.fillStyle = accColor;
  ctx.textAlign = 'left';
  for (let v = 0; v <= 1.0001; v += 0.25) ctx.fillText(`${Math.round(100 * v)} %`, m.left + pw + 6, yAcc(v));
  // Axes.
  ctx.strokeStyle = muted;
  ctx.beginPath();
  ctx.moveTo(m.left + 0.5, m.top);
  ctx.lineTo(m.left + 0.5, m.top + ph + 0.5);
  ctx.lineTo(m.left + pw + 0.5, m.top + ph + 0.5);
  ctx.lineTo(m.left + pw + 0.5, m.top);
  ctx.stroke();
  // Batches along the bottom, and where each epoch begins.
  ctx.fillStyle = muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const xStep = niceStep(Math.max(n, 10), 6);
  ctx.fillText('1', xAt(0), m.top + ph + 4);
  for (let i = xStep; i <= n; i += xStep) if (xAt(i - 1) - xAt(0) > 20) ctx.fillText(String(i), xAt(i - 1), m.top + ph + 4);
  ctx.fillText('batch', m.left + pw / 2, m.top + ph + 18);
  ctx.save();
  ctx.setLineDash([3, 3]);
  ctx.strokeStyle = muted;
  for (let i = 1; i < b.length; i++) {
    if (b[i].epoch !== b[i - 1].epoch) {
      const x = Math.round(xAt(i)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, m.top);
      ctx.lineTo(x, m.top + ph);
      ctx.stroke();
    }
  }
  ctx.restore();
  // Axis titles, turned along the axes.
  for (const [text, color, x, angle] of [['loss', lossColor, 12, -Math.PI / 2], ['accuracy', accColor, w - 9, Math.PI / 2]]) {
    ctx.save();
    ctx.translate(x, m.top + ph / 2);
    ctx.rotate(angle);
    ctx.fillStyle = color;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, 0, 0);
    ctx.restore();
  }
  if (b.length === 0) {
    ctx.fillStyle = muted;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('press Train: loss and accuracy appear here, batch by batch', m.left + pw / 2, m.top + ph / 2);
    $('legend-loss').textContent = '';
    $('legend-acc').textContent = '';
    return;
  }
  const curve = (values, color, y) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.75;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    values.forEach((v, i) => (i === 0 ? ctx.moveTo(xAt(i), y(v)) : ctx.lineTo(xAt(i), y(v))));
    ctx.stroke();
  };
  curve(b.map((x) => x.loss), lossColor, yLoss);
  curve(b.map((x) => x.accuracy), accColor, yAcc);
  const lastBatch = b[b.length - 1];
  $('legend-loss').textContent = lastBatch.loss.toFixed(3);
  $('legend-acc').textContent = `${(100 * lastBatch.accuracy).toFixed(1)} %`;
}

new ResizeObserver(() => drawChart()).observe($('chart'));

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
  // The guess, large, where the eye is while drawing.
  $('guess').classList.toggle('none', !p);
  $('guess').querySelector('.digit-guess').textContent = p ? String(top) : '?';
  $('guess').querySelector('.guess-text').textContent = !p
    ? 'draw a digit'
    : `${(100 * p[top]).toFixed(1)} % sure${state.netUntrained ? ' (the network is untrained: press Train)' : ''}`;
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
 * page's cores. Every model trains on any count, VGG-mini's batch norm too (its
 * shards meet at each batch-norm layer). (This page is served cross-origin
 * isolated, so the replicas share memory; without COOP/COEP they would pass
 * rows, gradients and batch-norm sums by message.)
 */
function workerCount(choice) {
  return choice === 'auto' ? navigator.hardwareConcurrency || 1 : Number(choice);
}

async function train({ n, epochs, batchSize, model = $('train-model').value, seed = Number(params.get('seed') ?? 42), workers = workerCount($('train-workers').value) }) {
  state.training = true;
  state.done = false;
  state.batches = [];
  drawChart();
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
