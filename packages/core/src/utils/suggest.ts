/** Levenshtein distance, for "did you mean" hints in config and registry errors. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

/** The closest candidate to `name`, if one is close enough to be a plausible typo. */
export function closestMatch(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const common = (a: string, b: string) => {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    // Ties go to the longer shared prefix: a dropped or added last letter ('rcn' -> 'rcnn', not 'rpn').
    if (d < bestD || (d === bestD && best !== undefined && common(name, c) > common(name, best))) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const m = closestMatch(name, candidates);
  return m ? ` (did you mean '${m}'?)` : '';
}
