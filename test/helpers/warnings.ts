// The process warnings a piece of a test makes the route emit.

export interface SeenWarning {
  readonly code: string | undefined;
  readonly message: string;
}

/**
 * Runs `fn` and returns the process warnings emitted meanwhile. Node emits a warning on the next
 * tick, so those of the last step are waited for too.
 */
export async function warningsDuring(fn: () => Promise<void> | void): Promise<SeenWarning[]> {
  const seen: SeenWarning[] = [];
  const onWarning = (w: Error & { code?: string }) => seen.push({ code: w.code, message: w.message });
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

/** The codes of {@link warningsDuring}. */
export async function warningCodesDuring(fn: () => Promise<void> | void): Promise<(string | undefined)[]> {
  return (await warningsDuring(fn)).map((w) => w.code);
}
