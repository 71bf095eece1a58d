import { and, eq } from 'drizzle-orm';
import { certificate, volumeMount, volumeMountFog } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError } from '../../errors';
import { createMount, linkMount } from '../config/resources';
import { createCertificate, renewCertificate } from '../pki/certificates';

/** A create that another request or instance may win: its 409 means "already there". */
async function tolerateConflict(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!(err instanceof ServiceError && err.code === 'CONFLICT')) throw err;
  }
}

/**
 * A fog's platform certificate: issued by `caName` when missing; re-issued in place when
 * the hosts it must name changed (same secret, so the mounts projecting it pick up the new one).
 */
export async function ensureIssuedCertificate(ctx: AppCtx, name: string, subject: string, hosts: string[], caName: string): Promise<void> {
  const wanted = hosts.join(',');
  const [row] = await ctx.db
    .select({ id: certificate.id, hosts: certificate.hosts })
    .from(certificate)
    .where(eq(certificate.name, name))
    .limit(1);
  if (!row)
    return tolerateConflict(() => createCertificate(ctx, { name, subject, hosts: wanted, ca: { type: 'direct', secretName: caName } }));
  if (row.hosts === wanted) return;
  await withTransaction(ctx, (tx) => tx.db.update(certificate).set({ hosts: wanted }).where(eq(certificate.id, row.id)));
  await renewCertificate(ctx, name);
}

/** A volume mount named `name` over one secret or config map, linked to the fog. */
export async function ensureLinkedMount(
  ctx: AppCtx,
  name: string,
  source: { secretName?: string; configMapName?: string },
  fogUuid: string,
): Promise<void> {
  // Every reconcile after a fog's first finds the mount there and linked: one read, no write transaction.
  const [linked] = await ctx.db
    .select({ uuid: volumeMount.uuid })
    .from(volumeMount)
    .innerJoin(volumeMountFog, and(eq(volumeMountFog.volumeMountUuid, volumeMount.uuid), eq(volumeMountFog.fogUuid, fogUuid)))
    .where(eq(volumeMount.name, name))
    .limit(1);
  if (linked) return;
  const [m] = await ctx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(eq(volumeMount.name, name)).limit(1);
  if (!m) await tolerateConflict(() => createMount(ctx, { name, ...source }));
  await linkMount(ctx, name, [fogUuid]);
}

export { tolerateConflict };
