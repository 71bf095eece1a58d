/** Runs `fn` every `ms` without keeping the process alive for it. */
export function every(ms: number, fn: () => void): { stop(): void } {
  const timer = setInterval(fn, ms);
  (timer as { unref?: () => void }).unref?.();
  return { stop: () => clearInterval(timer) };
}
