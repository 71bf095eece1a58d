import { and, eq } from 'drizzle-orm';
import { fog, microservice, registry } from '../../../db/schema/index';
import type { AppCtx } from '../../context';
import { invalid } from '../../errors';
import { resolveEnvSource } from '../config/resources';
import { fogRowByUuid } from '../shared/fog-row';
import { listRules } from '../nats/auth';
import { parse, type EnvVar, type FogRow, type Image, type MicroserviceInput, type PortMapping } from './rows';

// Checks a microservice input against the rules and the database before anything is written; each
// failure is a 400 that names the field.

/** External ports the Edgelet host keeps for itself (local API, debugging, DNS). */
export const RESERVED_PORTS = [54321, 54322, 53];

/** Every env entry that reads a secret or config map must name an existing key (400 otherwise). */
export async function checkEnvSources(ctx: AppCtx, env: EnvVar[] | undefined): Promise<void> {
  for (const [i, e] of (env ?? []).entries()) {
    if (e.valueFromSecret !== undefined) await resolveEnvSource(ctx, 'secret', e.valueFromSecret, `env[${i}].valueFromSecret`);
    if (e.valueFromConfigMap !== undefined) await resolveEnvSource(ctx, 'configMap', e.valueFromConfigMap, `env[${i}].valueFromConfigMap`);
  }
}

// ---- validation ----

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw invalid(`${what}: must be a lower-case DNS label (letters, digits, "-"), 1-63 characters`);
}

export async function resolveFog(ctx: AppCtx, input: MicroserviceInput): Promise<FogRow | undefined> {
  if (input.iofogUuid) {
    const f = await fogRowByUuid(ctx.db, input.iofogUuid);
    if (!f) throw invalid(`iofogUuid: no fog ${input.iofogUuid}`);
    return f;
  }
  if (input.agentName) {
    const [f] = await ctx.db.select().from(fog).where(eq(fog.name, input.agentName)).limit(1);
    if (!f) throw invalid(`agentName: no fog named ${input.agentName}`);
    return f;
  }
  return undefined;
}

/** The image the agent of `archId` runs, or undefined. Arch 0 (auto) takes the first image. */
export function imageFor(images: Image[], archId: number): string | undefined {
  if (archId === 0) return images[0]?.containerImage;
  return images.find((i) => i.archId === archId)?.containerImage;
}

export function checkImages(images: Image[] | undefined, target: FogRow | undefined, field = 'images'): void {
  if (!images) return;
  if (images.length === 0) throw invalid(`${field}: at least one image is required`);
  if (new Set(images.map((i) => i.archId)).size !== images.length) throw invalid(`${field}: archId must be unique`);
  if (target && target.archId !== 0 && !imageFor(images, target.archId)) {
    throw invalid(`${field}: no image for the architecture of fog ${target.name} (archId ${target.archId})`);
  }
}

export function checkRuntime(runtime: string | undefined, target: FogRow | undefined): void {
  if (!runtime || !target) return;
  const available = parse<string[]>(target.availableRuntimes, []);
  // Fogs that have not reported yet cannot be checked; their agent rejects an unknown runtime itself.
  if (available.length > 0 && !available.includes(runtime)) {
    throw invalid(`runtime: "${runtime}" is not available on fog ${target.name} (available: ${available.join(', ')})`);
  }
}

export function checkPorts(ports: PortMapping[] | undefined): void {
  if (!ports) return;
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    if (RESERVED_PORTS.includes(p.external))
      throw invalid(`ports[${i}].external: port ${p.external} is reserved (${RESERVED_PORTS.join(', ')})`);
    const key = `${p.external}/${p.protocol ?? 'tcp'}`;
    if (seen.has(key)) throw invalid(`ports[${i}].external: port ${key} is mapped twice`);
    seen.add(key);
  });
}

/** External ports must be free on the fog (other microservices on the same host). */
export async function checkPortsFree(
  ctx: AppCtx,
  fogUuid: string | null | undefined,
  ports: PortMapping[] | undefined,
  self?: string,
): Promise<void> {
  if (!fogUuid || !ports?.length) return;
  const others = await ctx.db
    .select({ uuid: microservice.uuid, name: microservice.name, ports: microservice.ports })
    .from(microservice)
    .where(eq(microservice.fogUuid, fogUuid));
  const used = new Map<string, string>();
  for (const o of others) {
    if (o.uuid === self) continue;
    for (const p of parse<PortMapping[]>(o.ports, [])) used.set(`${p.external}/${p.protocol ?? 'tcp'}`, o.name);
  }
  ports.forEach((p, i) => {
    const owner = used.get(`${p.external}/${p.protocol ?? 'tcp'}`);
    if (owner) throw invalid(`ports[${i}].external: port ${p.external} is already used by microservice ${owner} on this fog`);
  });
}

export async function checkRegistry(ctx: AppCtx, registryId: number | undefined): Promise<void> {
  if (registryId === undefined) return;
  const [r] = await ctx.db.select({ id: registry.id }).from(registry).where(eq(registry.id, registryId)).limit(1);
  if (!r) throw invalid(`registryId: no registry ${registryId}`);
}

/** The node controller registers its config as JSON text (agent contract). */
export function checkConfig(text: string | undefined): void {
  if (text === undefined) return;
  try {
    JSON.parse(text);
  } catch {
    throw invalid('config: must be a JSON document (object or JSON text)');
  }
}

/** natsConfig checks: the user rule must exist, and the workload needs a NATS server to reach (its fog's or the hub). */
export async function checkNats(ctx: AppCtx, nats: MicroserviceInput['natsConfig'], target: FogRow | undefined): Promise<void> {
  if (!nats?.natsAccess) return;
  if (nats.natsRule !== undefined) {
    const rules = await listRules(ctx, 'user');
    if (!rules.some((r) => (r as { name: string }).name === nats.natsRule))
      throw invalid(`natsConfig.natsRule: no NATS user rule named ${nats.natsRule}`);
  }
  if (target && target.natsMode !== 'none') return;
  const [hub] = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(and(eq(fog.isSystem, true), eq(fog.natsMode, 'server')))
    .limit(1);
  if (!hub)
    throw invalid(
      'natsConfig.natsAccess: the microservice has no NATS server to reach (its fog has natsMode none and there is no NATS hub)',
    );
}
