// wasmnet from Node with require(): the same package, its CommonJS build.  Run: node train.cjs
const { init, SequentialNet, Tensor, ReLU, SoftMax, Adam } = require('wasmnet');

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

async function main() {
  await init();
  const net = new SequentialNet([1, 12, 12], { seed: 1 });
  net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(2, { afun: new SoftMax(), optim: new Adam(0.01) });
  const train = lines(200, 7);
  const history = await net.train(train.x, train.y, { batchSize: 20, epochs: 3 });
  const last = history[history.length - 1];
  console.log(`trained: loss ${last.loss.toFixed(4)}, accuracy ${(100 * last.accuracy).toFixed(1)} %`);
  const test = lines(50, 99);
  const guess = net.evaluate(test.x).argmax();
  console.log(`on 50 new pictures: ${guess.filter((g, i) => g === test.labels[i]).length}/50 right`);
  net.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
