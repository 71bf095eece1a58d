import type { RuntimeAdapter } from './types';

/**
 * Picks the adapter for the runtime we are on. Dynamic imports keep each adapter's runtime-specific
 * code from being evaluated on the others.
 */
export async function detectRuntime(): Promise<RuntimeAdapter> {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno) return (await import('./deno')).denoAdapter;
  if (g.Bun) return (await import('./bun')).bunAdapter;
  return (await import('./node')).nodeAdapter;
}
