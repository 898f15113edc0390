import * as path from 'node:path';

/** Repository root (tests run from packages/segmentation/test/...). */
export const repoRoot = path.resolve(__dirname, '../../../..');
/** The shared reference folder sits next to the repository (CI clones the repo beside `shared/`). */
export const referenceDir = path.resolve(repoRoot, '../shared/reference');
export const detectionFixtures = path.join(referenceDir, 'detection');
export const litv2Fixtures = path.join(referenceDir, 'litv2', 'fixtures');
