/**
 * Invalid input data (ground-truth or result files). The message names the offending annotation/result/image
 * id and field; the CLI prints it without a stack trace.
 */
export class CocoFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CocoFormatError';
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
