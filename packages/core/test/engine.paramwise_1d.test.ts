/** paramwise_cfg.one_dim_decay_mult: timm's "no weight decay on 1-D parameters and biases" (the ImageNet recipe). */
import * as tf from '@tensorflow/tfjs';
import { resolveParamGroups } from '@litv2/core';

test('one_dim_decay_mult applies to every parameter of rank <= 1 that no custom key gives a decay_mult', () => {
  const v = (shape: number[]) => tf.variable(tf.zeros(shape));
  const named: [string, tf.Variable][] = [
    ['a.weight', v([3, 4])],
    ['a.bias', v([4])],
    ['norm.weight', v([4])],
    ['dtm.conv_offset.weight', v([3, 3, 4, 18])],
    ['dtm.conv_offset.bias', v([18])],
    ['blk.attention_biases', v([2, 49])],
  ];
  const groups = resolveParamGroups(named, { one_dim_decay_mult: 0, custom_keys: { 'conv_offset.weight': { lr_mult: 0.01 }, attention_biases: { decay_mult: 0 } } });
  const by = Object.fromEntries(groups.map((g) => [g.name, [g.lrMult, g.decayMult]]));
  expect(by).toEqual({
    'a.weight': [1, 1],
    'a.bias': [1, 0],
    'norm.weight': [1, 0],
    'dtm.conv_offset.weight': [0.01, 1],
    'dtm.conv_offset.bias': [1, 0],
    'blk.attention_biases': [1, 0],
  });
  // Without the key nothing changes (mmcv defaults).
  expect(resolveParamGroups(named).every((g) => g.lrMult === 1 && g.decayMult === 1)).toBe(true);
  named.forEach(([, x]) => x.dispose());
});
