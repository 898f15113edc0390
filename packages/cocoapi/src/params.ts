/** COCOeval parameters with the pycocotools defaults for bbox / segm evaluation. */
import { linspace } from './numpy-math';
import type { ImageId } from './coco';

export type IouType = 'bbox' | 'segm';

export class Params {
  iouType: IouType;
  /** Image ids to evaluate (sorted and de-duplicated by evaluate()). */
  imgIds: ImageId[] = [];
  /** Category ids to evaluate (sorted and de-duplicated by evaluate() when useCats). */
  catIds: number[] = [];
  /** np.linspace(.5, .95, 10): note 0.8999999999999999 at index 8. */
  iouThrs: number[] = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
  /** np.linspace(0, 1, 101): ten values are not i/100 (e.g. 0.35000000000000003). */
  recThrs: number[] = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
  maxDets: number[] = [1, 10, 100];
  areaRng: [number, number][] = [
    [0 ** 2, 1e5 ** 2],
    [0 ** 2, 32 ** 2],
    [32 ** 2, 96 ** 2],
    [96 ** 2, 1e5 ** 2],
  ];
  areaRngLbl: string[] = ['all', 'small', 'medium', 'large'];
  /** 1: evaluate per category; 0: pool all categories. */
  useCats: 0 | 1 = 1;

  constructor(iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm') throw new Error(`iouType not supported: ${String(iouType)}`);
    this.iouType = iouType;
  }

  clone(): Params {
    const p = new Params(this.iouType);
    p.imgIds = [...this.imgIds];
    p.catIds = [...this.catIds];
    p.iouThrs = [...this.iouThrs];
    p.recThrs = [...this.recThrs];
    p.maxDets = [...this.maxDets];
    p.areaRng = this.areaRng.map((r) => [r[0], r[1]]);
    p.areaRngLbl = [...this.areaRngLbl];
    p.useCats = this.useCats;
    return p;
  }
}
