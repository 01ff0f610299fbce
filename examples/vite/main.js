// wasmnet through a bundler: `import … from 'wasmnet'` resolves to its browser build, and the
// bundler finds the .wasm and the training worker by itself (`new URL('./wasmnet.wasm', import.meta.url)`
// and `new Worker(new URL('./worker.js', import.meta.url))` in the package).
import { init, SequentialNet, Tensor, ReLU, SoftMax, Adam } from 'wasmnet';

/** n 12×12 pictures, each one line (label 0: horizontal, 1: vertical) at a random place. */
function lines(n, seed) {
  let s = seed;
  const rand = (k) => ((s = (s * 1103515245 + 12345) % 2147483648) % k);
  const x = new Float32Array(n * 144);
  const labels = [];
  for (let i = 0; i < n; i++) {
    const vertical = rand(2);
    const at = rand(12);
    for (let j = 0; j < 12; j++) x[i * 144 + (vertical ? j * 12 + at : at * 12 + j)] = 1;
    labels.push(vertical);
  }
  return { x: new Tensor(x, [n, 1, 12, 12]), y: Tensor.oneHot(labels, 2), labels };
}

const result = document.getElementById('result');
try {
  await init();
  const net = new SequentialNet([1, 12, 12], { seed: 1 });
  net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(2, { afun: new SoftMax(), optim: new Adam(0.01) });
  const train = lines(200, 7);
  // Two workers compute each batch (the same bits as one would): the page stays responsive.
  await net.train(train.x, train.y, { batchSize: 20, epochs: 3, workers: 2 });
  const test = lines(50, 99);
  const guess = net.evaluate(test.x).argmax();
  const right = guess.filter((g, i) => g === test.labels[i]).length;
  result.textContent = `${right}/50 new pictures right`;
  document.body.dataset.state = 'done';
} catch (e) {
  result.textContent = `failed: ${e.message}`;
  document.body.dataset.state = 'error';
}
