// Polls until an assertion passes or a deadline expires; then rethrows the last failure.
export async function eventually<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 10 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
