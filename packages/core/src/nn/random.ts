/**
 * One process-wide deterministic stream of seeds. tfjs has no global seed, so every random op in our code
 * takes `nextSeed()`; `seedEverything(s)` makes initialisation, DropPath and data order reproducible.
 */
let state = 0x9e3779b9;

function mulberry32(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function seedEverything(seed: number): void {
  state = seed >>> 0;
}

/** A uniform number in [0, 1) from the global stream. */
export function random(): number {
  return mulberry32();
}

/** A fresh integer seed for a tfjs random op. */
export function nextSeed(): number {
  return Math.floor(mulberry32() * 2147483647);
}

/** Snapshot / restore of the stream, saved in checkpoints so resumed runs continue identically. */
export function getRandomState(): number {
  return state;
}
export function setRandomState(s: number): void {
  state = s | 0;
}
