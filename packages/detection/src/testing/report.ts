
/** Max |a-b| and whether every element satisfies |a-b| <= atol + rtol·|b| (NaNs must match). */
function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-4, rtol = 1e-4): { maxAbs: number; ok: boolean; worst: number; firstBad: number } {
  if (actual.length !== expected.length) return { maxAbs: Infinity, ok: false, worst: -1, firstBad: -1 };
  let firstBad = -1;
  let maxAbs = 0;
  let ok = true;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (!(Number.isNaN(a) && Number.isNaN(b))) {
        ok = false;
        worst = i;
        maxAbs = Infinity;
        if (firstBad < 0) firstBad = i;
      }
      continue;
    }
    const d = Math.abs(a - b);
    if (d > maxAbs) {
      maxAbs = d;
      worst = i;
    }
    if (d > atol + rtol * Math.abs(b)) {
      ok = false;
      if (firstBad < 0) firstBad = i;
    }
  }
  return { maxAbs, ok, worst, firstBad };
}


export interface CheckEntry {
  name: string;
  ok: boolean;
  maxAbs: number;
  /** max |a - e| / max(|e|, atol) (NaN where not computed). */
  maxRel?: number;
  message?: string;
}

/** Collects named comparisons against a fixture; `failures()` lists what did not match. */
export class CheckReport {
  readonly entries: CheckEntry[] = [];
  constructor(readonly atol = 1e-4, readonly rtol = 1e-4) {}

  close(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol = this.atol, rtol = this.rtol): boolean {
    if (actual.length !== expected.length) return this.fail(name, `length ${actual.length}, expected ${expected.length}`);
    const r = compareArrays(actual, expected, atol, rtol);
    let maxRel = 0;
    for (let i = 0; i < expected.length; i++) maxRel = Math.max(maxRel, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), atol));
    const message = r.ok ? undefined : `element ${r.firstBad}: got ${actual[r.firstBad]}, expected ${expected[r.firstBad]} (max |diff| ${r.maxAbs.toExponential(3)} at ${r.worst})`;
    this.entries.push({ name, ok: r.ok, maxAbs: r.maxAbs, maxRel, message });
    return r.ok;
  }

  exact(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): boolean {
    if (actual.length !== expected.length) return this.fail(name, `length ${actual.length}, expected ${expected.length}`);
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) return this.fail(name, `element ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
    this.entries.push({ name, ok: true, maxAbs: 0 });
    return true;
  }

  /**
   * Boxes (rows of `stride` values starting x1,y1,x2,y2): decoded coordinates carry the network's float error
   * multiplied by the anchor size (x = px + pw·dx), so the relative part of the tolerance uses
   * max(|value|, box width, box height) instead of |value| alone.
   */
  closeBoxes(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, stride = 4, atol = this.atol, rtol = this.rtol): boolean {
    if (actual.length !== expected.length) return this.fail(name, `length ${actual.length}, expected ${expected.length}`);
    let maxAbs = 0;
    for (let r = 0; r < expected.length / stride; r++) {
      const o = r * stride;
      const scale = Math.max(Math.abs(expected[o + 2] - expected[o]), Math.abs(expected[o + 3] - expected[o + 1]));
      for (let k = 0; k < 4; k++) {
        const d = Math.abs(actual[o + k] - expected[o + k]);
        maxAbs = Math.max(maxAbs, d);
        if (!(d <= atol + rtol * Math.max(Math.abs(expected[o + k]), scale))) {
          return this.fail(name, `box ${r} coordinate ${k}: got ${actual[o + k]}, expected ${expected[o + k]} (box size ${scale.toFixed(2)})`);
        }
      }
    }
    return this.pass(name, maxAbs);
  }

  pass(name: string, maxAbs = 0): true {
    this.entries.push({ name, ok: true, maxAbs });
    return true;
  }

  fail(name: string, message: string): false {
    this.entries.push({ name, ok: false, maxAbs: Infinity, message });
    return false;
  }

  failures(): CheckEntry[] {
    return this.entries.filter((e) => !e.ok);
  }

  get maxAbs(): number {
    return this.entries.reduce((m, e) => (e.ok ? Math.max(m, e.maxAbs) : m), 0);
  }

  format(): string {
    return this.entries.map((e) => `${e.ok ? 'ok  ' : 'FAIL'} ${e.name}  max|diff| ${Number.isFinite(e.maxAbs) ? e.maxAbs.toExponential(2) : '-'}${e.message ? `  ${e.message}` : ''}`).join('\n');
  }
}

/**
 * Compares detections (K·5 boxes+score, K labels) as sets in mmdet's order (score descending): each expected
 * detection must have a partner with the same label and close box/score, and partners may only swap places
 * among near-equal scores. The failure message names the first expected box without a partner.
 */
export function compareDetections(report: CheckReport, name: string, ours: { bboxes: Float32Array; labels: Int32Array }, expBoxes: Float32Array, expLabels: ArrayLike<number>): boolean {
  const n = expLabels.length;
  const m = ours.labels.length;
  if (m !== n) return report.fail(name, `${m} detections, expected ${n}`);
  const used = new Uint8Array(m);
  let maxAbs = 0;
  const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= report.atol + report.rtol * Math.max(Math.abs(b), scale);
  for (let i = 0; i < n; i++) {
    const e = expBoxes.subarray(i * 5, i * 5 + 5);
    let found = -1;
    // Prefer the same position, then any unused partner (ties in score may reorder).
    const order = [i, ...Array.from({ length: m }, (_, k) => k).filter((k) => k !== i)];
    for (const j of order) {
      if (used[j] || ours.labels[j] !== expLabels[i]) continue;
      const o = ours.bboxes.subarray(j * 5, j * 5 + 5);
      const size = Math.max(e[2] - e[0], e[3] - e[1]);
      if (e.every((v, k) => close(o[k], v, k < 4 ? size : 0))) {
        found = j;
        break;
      }
    }
    if (found < 0) {
      const fmt = (a: ArrayLike<number>) => `[${Array.from(a, (v) => v.toFixed(4)).join(', ')}]`;
      const same = ours.bboxes.subarray(i * 5, i * 5 + 5);
      return report.fail(name, `expected detection #${i} label ${expLabels[i]} box+score ${fmt(e)} has no match; ours at #${i}: label ${ours.labels[i]} ${fmt(same)}`);
    }
    if (found !== i && Math.abs(ours.bboxes[found * 5 + 4] - ours.bboxes[i * 5 + 4]) > report.atol) {
      return report.fail(name, `detection #${i} (label ${expLabels[i]}) appears at position ${found}: order differs beyond score ties`);
    }
    used[found] = 1;
    for (let k = 0; k < 5; k++) maxAbs = Math.max(maxAbs, Math.abs(ours.bboxes[found * 5 + k] - e[k]));
  }
  return report.pass(name, maxAbs);
}
