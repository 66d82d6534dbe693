import { describe, expect, it } from 'vitest';
import { initTf, backendInfo, tf } from '../../src/tf/index.ts';

describe('TensorFlow.js backend choice', () => {
  it('falls back from native TensorFlow to WASM when tfjs-node is not installed, and says why', async () => {
    const listenersBefore = process.listenerCount('unhandledRejection') + process.listenerCount('uncaughtException');
    const info = await initTf('auto');
    expect(backendInfo()).toBe(info);
    expect(tf.getBackend()).toBe(info.name);
    // This workplace cannot install tfjs-node(-gpu): the choice must be WASM, with the reason.
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/not installed/);
    // The WASM package's rethrowing process listeners must have been removed.
    const listenersAfter = process.listenerCount('unhandledRejection') + process.listenerCount('uncaughtException');
    expect(listenersAfter).toBe(listenersBefore);
    const y = tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]);
    expect(y).toBe(5);
  });
});
