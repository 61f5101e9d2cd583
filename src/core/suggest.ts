// "Did you mean …?": the known names closest to a mistyped one.

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/**
 * The known names nearest to `name` (case ignored), closest first, at most `limit` of them, and only
 * those close enough to be what was meant: within a quarter of the name's length, and at least 2.
 */
export function closest(name: string, known: Iterable<string>, limit = 1): string[] {
  const lower = name.toLowerCase();
  const bound = Math.max(2, Math.floor(name.length / 4));
  const scored: [string, number][] = [];
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= bound) scored.push([candidate, distance]);
  }
  scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return scored.slice(0, limit).map(([candidate]) => candidate);
}
