// The course's CNN trains in wasmnet's own worker (dist/worker.js, served here as ./wasmnet/worker.js);
// trainInWorker drives it and resolves to the trained model file, which loads on the page.
import { init, SequentialNet, Tensor, trainInWorker } from './wasmnet/browser.js';

/** n 28×28 pictures, each one line (label 0: horizontal, 1: vertical), labels one-hot over MNIST's 10 classes. */
function lines(n, seed) {
  let s = seed;
  const rand = (k) => ((s = (s * 1103515245 + 12345) % 2147483648) % k);
  const x = new Float32Array(n * 784);
  const labels = [];
  for (let i = 0; i < n; i++) {
    const vertical = rand(2);
    const at = 4 + rand(20);
    for (let j = 4; j < 24; j++) x[i * 784 + (vertical ? j * 28 + at : at * 28 + j)] = 1;
    labels.push(vertical);
  }
  return { x: new Tensor(x, [n, 1, 28, 28]), y: Tensor.oneHot(labels, 10), labels };
}

const result = document.getElementById('result');
const progress = document.getElementById('progress');
try {
  const worker = new Worker(new URL('./wasmnet/worker.js', import.meta.url), { type: 'module' });
  const train = lines(300, 7);
  const { model, history } = await trainInWorker(worker, train.x, train.y, {
    model: 'course',
    seed: 1,
    batchSize: 50,
    epochs: 1,
    onBatch: (info) => { progress.value = (info.batch + 1) / info.batches; },
  });
  worker.terminate();
  await init(); // the page's own wasm instance, to use the trained network here
  const net = SequentialNet.load(model);
  const test = lines(50, 99);
  const guess = net.evaluate(test.x).argmax();
  const right = guess.filter((g, i) => g === test.labels[i]).length;
  result.textContent = `trained in the worker (loss ${history[0].loss.toFixed(3)}); ${right}/50 new pictures right on the page`;
  document.body.dataset.state = 'done';
} catch (e) {
  result.textContent = `failed: ${e.message}`;
  document.body.dataset.state = 'error';
}
