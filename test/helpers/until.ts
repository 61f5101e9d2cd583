// Waits for something another process or a timer brings about, looking every 20 ms, within a bound.

export function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const look = async (): Promise<void> => {
      if (await check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`not so within ${String(timeoutMs)} ms`));
      else setTimeout(() => void look(), 20);
    };
    void look();
  });
}
