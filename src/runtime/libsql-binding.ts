import { createRequire } from 'node:module';

/**
 * The path of the native `libsql` binding, resolved the way @libsql/client resolves it (it is a
 * dependency of the client, not of this package), or undefined where it cannot be resolved.
 */
export function libsqlBindingPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return createRequire(require.resolve('@libsql/client')).resolve('libsql');
  } catch {
    return undefined;
  }
}
