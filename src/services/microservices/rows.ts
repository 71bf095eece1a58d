import { eq } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import { application, type fog, microservice } from '../../../db/schema/index';
import { WideRows } from '../../../db/wide-rows';
import type { AppCtx } from '../../context';
import { notFound } from '../../errors';
import type { ImageSchema, MicroserviceInput, PortSchema, VolumeSchema } from './schemas';

// The microservice and application rows as stored: their types, the JSON-text column helpers, and the
// lookups by name or uuid that answer 404.

export type MicroserviceRow = typeof microservice.$inferSelect;
export type AppRow = typeof application.$inferSelect;
export type FogRow = typeof fog.$inferSelect;

export type Image = z.infer<typeof ImageSchema>;
export type PortMapping = z.infer<typeof PortSchema>;
/** As stored: `id` is the mapping's position, given when the list is written. */
export type VolumeMapping = z.infer<typeof VolumeSchema> & { id?: number };
/** One of `value`, `valueFromSecret` or `valueFromConfigMap` (`name/key`; resolved when delivered to the agent). */
export type EnvVar = NonNullable<MicroserviceInput['env']>[number];
export type { MicroserviceInput };

/** Many microservice rows (40 columns) at once, each read as one JSON text (db/wide-rows.ts): the operator lists. */
export const microserviceRows = new WideRows(microservice);

export const json = (v: unknown) => JSON.stringify(v);
export const parse = <T>(text: string | null, fallback: T): T => {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export async function requireApplication(ctx: AppCtx, name: string): Promise<AppRow> {
  const [app] = await ctx.db.select().from(application).where(eq(application.name, name)).limit(1);
  if (!app) throw notFound(`Application ${name}`);
  return app;
}

export async function requireMicroservice(ctx: AppCtx, uuid: string): Promise<MicroserviceRow & { app: AppRow }> {
  const [row] = await ctx.db
    .select({ ms: microservice, app: application })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(eq(microservice.uuid, uuid))
    .limit(1);
  if (!row) throw notFound(`Microservice ${uuid}`);
  return { ...row.ms, app: row.app };
}
