import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError } from '../../errors';
import { enqueueNatsFogs } from '../changes/reconcile-queue';
import type { NatsHubPut } from '../nats/schemas';
import { hubFog } from '../platform/nats-platform';
import { updateFog } from './fogs';
import type { z } from '@hono/zod-openapi';

/**
 * PUT /nats/hub: the hub is the oldest system fog running a NATS server, so its settings are that fog's.
 * Every fog running NATS is reconciled afterwards, because their leaf remotes point at the hub.
 */
export async function updateNatsHub(ctx: AppCtx, b: z.infer<typeof NatsHubPut>) {
  const hub = await hubFog(ctx);
  if (!hub)
    throw new ServiceError(
      'VALIDATION_FAILED',
      'No NATS hub to update: create a system fog with natsMode server first (its NATS server becomes the hub)',
    );
  await updateFog(ctx, hub.uuid, {
    host: b.host,
    natsServerPort: b.serverPort,
    natsClusterPort: b.clusterPort,
    natsLeafPort: b.leafPort,
    natsMqttPort: b.mqttPort,
    natsHttpPort: b.httpPort,
    jsStorageSize: b.jsStorageSize,
    jsMemoryStoreSize: b.jsMemoryStoreSize,
  });
  await withTransaction(ctx, (tx) => enqueueNatsFogs(tx, []));
  return (await hubFog(ctx))!;
}
