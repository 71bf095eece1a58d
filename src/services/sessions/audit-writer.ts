import { withTransaction } from '../../../db/tx';
import type { CoreDeps, StorageDeps } from '../../context';
import { errorFields } from '../../lib/logger';
import { insertAuditEvent, type AuditRecord } from '../events/audit';
import type { Half } from './session';

/**
 * WS_CONNECT / WS_DISCONNECT audit events of session sockets, queued and written in batches (one
 * transaction every 250 ms at most), so socket churn adds no write transaction per connect; failures
 * never touch the session. The queue is flushed on drain; a crash loses at most the last 250 ms of
 * socket events.
 */
export class SessionAuditWriter {
  #queue: Array<{ at: number; rec: AuditRecord }> = [];
  #timer?: ReturnType<typeof setTimeout>;

  constructor(private readonly ctx: CoreDeps & StorageDeps) {}

  record(
    event: 'WS_CONNECT' | 'WS_DISCONNECT',
    endpointType: 'user' | 'agent',
    half: Omit<Half, 'peer'>,
    resourceId: string,
    closeCode?: number,
  ): void {
    const { ctx } = this;
    if (!ctx.config.audit.enabled) return;
    this.#queue.push({
      at: ctx.clock.now(),
      rec: {
        eventType: event,
        endpointType,
        actorId: half.actor,
        method: 'WS',
        resourceType: endpointType === 'agent' ? 'agent' : 'sessions',
        resourceId,
        endpointPath: half.path,
        ipAddress: ctx.config.audit.captureIp ? (half.ip ?? null) : null,
        status: 'SUCCESS',
        statusCode: closeCode ?? null,
      },
    });
    this.#timer ??= setTimeout(() => void this.flush(), 250);
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    const { ctx } = this;
    await withTransaction(ctx, async (tx) => {
      for (const b of batch) await insertAuditEvent(tx.db, b.at, b.rec);
    }).catch((err) => ctx.logger.warn('session audit events not written', { events: batch.length, ...errorFields(err) }));
  }
}
