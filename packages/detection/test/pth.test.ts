import { tf } from '@litv2/core';
import { initBackend, loadStateDictFile } from '@litv2/core/node';
import { checkRetinaNetFixture } from '@litv2/detection/testing/retinanet_fixture';
import { detRef } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('retinanet_tiny.pth (mmdet {meta, state_dict}) loads by mmdet key names, strictly, and reproduces the detections', async () => {
  const sd = await loadStateDictFile(detRef('retinanet_tiny.pth'));
  expect(Object.keys(sd)).toHaveLength(137);
  expect(Object.keys(sd)).toEqual(expect.arrayContaining(['backbone.patch_embed.proj.weight', 'neck.lateral_convs.0.conv.weight', 'bbox_head.retina_cls.bias']));
  // The .pth holds the ws2 model; the check loads it with strict=true (no renaming) and compares everything.
  const report = await checkRetinaNetFixture({ fixture: detRef('retinanet_tiny.json'), mode: 'full', variants: ['ws2'], stateDict: sd });
  tf.dispose(Object.values(sd));
  if (report.failures().length) throw new Error(report.format());
  expect(report.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['ws2.meta_rescaled.rescale_True.detections', 'ws2.meta_scale1.rescale_False.detections']));
});
