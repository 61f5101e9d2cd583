// A route's memory of answers it has already worked out for inputs browsers send again and again
// (the same Accept header, the same Origin, the same return_to on every sign-out of a page).

/**
 * Answers by key, computed once. Bounded: when it is full it starts over, so a client sending a
 * new value every time costs the computation it would have cost anyway, and no memory.
 */
export class BoundedMemo<V> {
  private readonly answers = new Map<string, V>();

  constructor(private readonly max: number) {}

  /** The answer for `key`; `compute` is given the key (one function for every call: no closures). */
  get(key: string, compute: (key: string) => V): V {
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const answer = compute(key);
    if (this.answers.size >= this.max) this.answers.clear();
    this.answers.set(key, answer);
    return answer;
  }
}
