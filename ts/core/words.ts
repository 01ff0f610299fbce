/** Words for messages: counts with the right noun form, and did-you-mean suggestions for misspelt names. */

/** `plural(1, 'epoch')` → "1 epoch", `plural(2, 'epoch')` → "2 epochs"; `many` for irregular plurals. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Edit distance with adjacent transpositions (optimal string alignment): "epcohs" is 1 from "epochs". Exported for its test. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate `given` was most likely meant to be, or undefined when none is close: equal but for
 * case, '-' and '_' (weight_decay → weightDecay), a prefix of at least 3 letters (epoch → epochs,
 * step → stepSize), or within an edit distance of about a third of its length (momentun → momentum).
 */
export function didYouMean(given: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const g = norm(given);
  if (g.length === 0) return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const n = norm(c);
    let score: number;
    if (n === g) score = 0;
    else if (g.length >= 3 && (n.startsWith(g) || g.startsWith(n))) score = 0.5 + Math.abs(n.length - g.length) / 100;
    else {
      const d = editDistance(g, n);
      score = d <= Math.max(1, Math.floor(Math.min(g.length, n.length) / 3)) ? d : Infinity;
    }
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/** `, did you mean "epochs"?` or nothing: a tail for "unknown …" messages. */
export function suggestion(given: string, candidates: readonly string[], quote = (s: string) => JSON.stringify(s)): string {
  const best = didYouMean(given, candidates);
  return best === undefined ? '' : `, did you mean ${quote(best)}?`;
}

/** ` (did you mean "ReLU"?)` or nothing: a tail for messages that already list what is expected. */
export function suggestionAfter(given: string, candidates: readonly string[]): string {
  const best = didYouMean(given, candidates);
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}
