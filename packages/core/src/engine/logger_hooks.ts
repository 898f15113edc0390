/**
 * Logging hooks. `LoggerHook` averages the loss terms over each log interval, prints a line (and, on a TTY,
 * redraws a progress bar every iteration) and sends a 'train' record to every hook's `onRecord`;
 * `JsonLinesLoggerHook` appends every record (train intervals and evaluations) to a `.log.jsonl` file.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Hook, IterResult, LogRecord } from './runner';
import type { Runner } from './runner';

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(r).padStart(2, '0')}`;
}

const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));

export interface LoggerHookOptions {
  /** Iterations per log line / record (mmcv log_config.interval). */
  interval: number;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: stderr is a TTY). */
  progressBar?: boolean;
  stream?: NodeJS.WriteStream;
}

export class LoggerHook implements Hook {
  readonly name = 'LoggerHook';
  readonly priority = 80;
  private sums: Record<string, number> = {};
  private count = 0;
  private time = 0;
  private dataTime = 0;
  private images = 0;
  /** Moving average of seconds per iteration (for the ETA). */
  private avgIter = 0;
  private barShown = false;
  private readonly bar: boolean;
  private readonly stream: NodeJS.WriteStream;
  private readonly log: (l: string) => void;

  constructor(readonly opts: LoggerHookOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.bar = opts.progressBar ?? Boolean(this.stream.isTTY);
    this.log = opts.log ?? ((l) => console.log(l));
  }

  private print(line: string): void {
    if (this.barShown) {
      this.stream.write('\r\x1b[2K');
      this.barShown = false;
    }
    this.log(line);
  }

  afterIter(runner: Runner, r: IterResult): Promise<void> | void {
    for (const [k, v] of Object.entries(r.losses)) this.sums[k] = (this.sums[k] ?? 0) + v;
    if (r.gradNorm !== undefined) this.sums.grad_norm = (this.sums.grad_norm ?? 0) + r.gradNorm;
    this.count++;
    this.time += r.iterTime;
    this.dataTime += r.dataTime;
    this.images += r.batchSize;
    this.avgIter = this.avgIter === 0 ? r.iterTime : 0.9 * this.avgIter + 0.1 * r.iterTime;
    const done = runner.iter;
    const eta = this.avgIter * (runner.maxIters - done);
    if (this.bar) {
      const width = 24;
      const fill = Math.round((width * done) / runner.maxIters);
      const ep = runner.mode === 'epoch' ? `ep ${r.epoch + 1}/${runner.maxEpochs} ` : '';
      this.stream.write(
        `\r\x1b[2K[${'='.repeat(fill)}${fill < width ? '>' : ''}${' '.repeat(Math.max(0, width - fill - 1))}] ${ep}it ${done}/${runner.maxIters} ` +
          `loss ${fmt(r.losses.loss)} lr ${r.lr.toExponential(2)} ${(r.batchSize / r.iterTime).toFixed(1)} img/s ETA ${formatDuration(eta)}`,
      );
      this.barShown = true;
    }
    const endOfEpoch = runner.mode === 'epoch' && runner.innerIter === runner.itersPerEpoch;
    if (done % this.opts.interval !== 0 && !endOfEpoch && done !== runner.maxIters) return;
    const rec: LogRecord = {
      mode: 'train',
      epoch: r.epoch + 1,
      iter: done,
      inner_iter: r.innerIter + 1,
      lr: r.lr,
      time: this.time / this.count,
      data_time: this.dataTime / this.count,
      img_per_s: this.images / this.time,
      eta_s: Math.round(eta),
      memory_tensors: tf.memory().numTensors,
    };
    for (const [k, v] of Object.entries(this.sums)) rec[k] = v / this.count;
    this.sums = {};
    this.count = this.time = this.dataTime = this.images = 0;
    return runner.writeRecord(rec);
  }

  onRecord(runner: Runner, rec: LogRecord): void {
    if (rec.mode === 'train') {
      const skip = new Set(['mode', 'epoch', 'iter', 'inner_iter', 'lr', 'time', 'data_time', 'img_per_s', 'eta_s', 'memory_tensors']);
      const terms = Object.entries(rec)
        .filter(([k]) => !skip.has(k))
        .map(([k, v]) => `${k}: ${typeof v === 'number' ? fmt(v) : v}`);
      const where = runner.mode === 'epoch' ? `Epoch [${rec.epoch}/${runner.maxEpochs}][${rec.inner_iter}/${runner.itersPerEpoch}]` : `Iter [${rec.iter}/${runner.maxIters}]`;
      this.print(
        `${where}\tlr: ${(rec.lr as number).toExponential(3)}, eta: ${formatDuration(rec.eta_s as number)}, time: ${(rec.time as number).toFixed(3)}, ` +
          `data_time: ${(rec.data_time as number).toFixed(3)}, img/s: ${(rec.img_per_s as number).toFixed(2)}, ${terms.join(', ')}`,
      );
    } else {
      const metrics = Object.entries(rec)
        .filter(([k]) => !['mode', 'epoch', 'iter'].includes(k))
        .map(([k, v]) => `${k}: ${typeof v === 'number' ? v.toFixed(4) : v}`);
      this.print(`Eval at ${runner.mode === 'epoch' ? `epoch ${rec.epoch}, ` : ''}iter ${rec.iter}: ${metrics.join(', ')}`);
    }
  }

  afterRun(): void {
    if (this.barShown) this.stream.write('\n');
    this.barShown = false;
  }
}

/** Appends one JSON object per line for every record (mmcv's `.log.json`, one record per log interval / eval). */
export class JsonLinesLoggerHook implements Hook {
  readonly name = 'JsonLinesLoggerHook';
  readonly priority = 85;
  constructor(readonly file: string) {}
  onRecord(_runner: Runner, rec: LogRecord): void {
    fs.appendFileSync(this.file, JSON.stringify(rec) + '\n');
  }
}
