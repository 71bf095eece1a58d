import type { Client, Transaction } from '@libsql/client';

/**
 * A libSQL client that replaces its connections after SQLITE_BUSY.
 *
 * Why: when a prepared statement (BEGIN IMMEDIATE, COMMIT, a write) gets SQLITE_BUSY from another
 * process, @libsql/client leaves that statement un-reset on its pooled connection. SQLite then
 * counts it as "in progress", and the next COMMIT on that connection fails with
 * "cannot commit transaction - SQL statements in progress" until the statement happens to be
 * garbage-collected. A fresh client has clean connections; the old one is closed once idle.
 */
export function resilientClient(
  open: () => Promise<Client>,
  first: Client,
  hooks: { onRenew?: () => void; onRenewError?: (err: unknown) => void } = {},
): Client {
  let inner = first;
  let renewing: Promise<void> | undefined;
  const isBusy = (err: unknown) =>
    /SQLITE_BUSY|database is locked/i.test(`${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? ''}`);

  const renew = (broken: Client) => {
    if (broken !== inner || renewing) return;
    renewing = open()
      .then((fresh) => {
        inner = fresh;
        hooks.onRenew?.();
        // Calls already running on the old client finish first.
        setTimeout(() => broken.close(), 2000).unref?.();
      })
      // The old client stays in use; the next BUSY tries again.
      .catch((err) => hooks.onRenewError?.(err))
      .finally(() => {
        renewing = undefined;
      });
  };

  const guard = <T>(client: Client, p: Promise<T>): Promise<T> =>
    p.catch((err) => {
      if (isBusy(err)) renew(client);
      throw err;
    });

  const wrapTx = (client: Client, tx: Transaction): Transaction =>
    new Proxy(tx, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const r = v.apply(target, args);
          return r instanceof Promise ? guard(client, r) : r;
        };
      },
    });

  return new Proxy({} as Client, {
    get(_t, prop) {
      const client = inner;
      if (prop === 'transaction') {
        return async (...args: unknown[]) => {
          if (renewing) await renewing;
          const c = inner;
          const tx = await guard(c, (c.transaction as (...a: unknown[]) => Promise<Transaction>)(...args));
          return wrapTx(c, tx);
        };
      }
      const v = Reflect.get(client, prop, client);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(client, args);
        return r instanceof Promise ? guard(client, r) : r;
      };
    },
  });
}
