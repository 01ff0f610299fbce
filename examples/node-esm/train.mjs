// wasmnet from Node as an ES module: train a small CNN to tell horizontal from vertical
// lines, save it to a model file, load it back and predict.  Run: node train.mjs
import { readFile, writeFile } from 'node:fs/promises';
import { init, SequentialNet, Tensor, ReLU, SoftMax, Adam } from 'wasmnet';

/** n 12×12 pictures, each one line (label 0: horizontal, 1: vertical) at a random place, and one-hot labels. */
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

await init();
const net = new SequentialNet([1, 12, 12], { seed: 1 });
net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
net.addPool2D([2, 2]);
net.addFlatten();
net.addDense(2, { afun: new SoftMax(), optim: new Adam(0.01) });

const train = lines(200, 7);
const history = await net.train(train.x, train.y, { batchSize: 20, epochs: 3 });
console.log(`trained: loss ${history.at(-1).loss.toFixed(4)}, accuracy ${(100 * history.at(-1).accuracy).toFixed(1)} %`);

await writeFile('lines.wnet', net.save());
const loaded = SequentialNet.load(await readFile('lines.wnet'));
const test = lines(50, 99);
const guess = loaded.evaluate(test.x).argmax();
const right = guess.filter((g, i) => g === test.labels[i]).length;
console.log(`the saved model on 50 new pictures: ${right}/50 right`);
net.dispose();
loaded.dispose();
