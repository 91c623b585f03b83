// Test setup shared by every package: one tfjs-core copy, all gradients registered (the
// @tensorflow/tfjs bundle registers them; tfjs-core's CJS entry alone does not), cpu backend
// as the reference engine. Tests that need wasm call initBackend({ prefer: 'wasm' }) themselves.
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
await tf.ready();
