import type { AppCtx } from '../../context';
import { invalid, notFound } from '../../errors';
import { updateMicroservice } from './crud';
import { parse, requireMicroservice, type PortMapping, type VolumeMapping } from './rows';

// Adding and removing one port or volume mapping: each rewrites the list through the ordinary update, so
// the same checks and change flags apply.

export async function addPortMapping(ctx: AppCtx, uuid: string, port: PortMapping, opts: { system: boolean }): Promise<PortMapping> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const ports = parse<PortMapping[]>(current.ports, []);
  if (ports.some((p) => p.internal === port.internal)) throw invalid(`internal: port ${port.internal} is already mapped`);
  const next = [...ports, { internal: port.internal, external: port.external, protocol: port.protocol ?? 'tcp' }];
  await updateMicroservice(ctx, uuid, { ports: next }, opts);
  return next[next.length - 1]!;
}

export async function removePortMapping(ctx: AppCtx, uuid: string, internal: number, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const ports = parse<PortMapping[]>(current.ports, []);
  if (!ports.some((p) => p.internal === internal)) throw notFound(`Port mapping ${internal}`);
  await updateMicroservice(ctx, uuid, { ports: ports.filter((p) => p.internal !== internal) }, opts);
}

export async function addVolumeMapping(ctx: AppCtx, uuid: string, v: VolumeMapping, opts: { system: boolean }): Promise<{ id: number }> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  if (v.type === 'serviceAccount')
    throw invalid('type: serviceAccount mappings are managed by the Controller from the microservice serviceAccount and cannot be added');
  const list = parse<VolumeMapping[]>(current.volumeMappings, []);
  const next = [...list, v];
  await updateMicroservice(ctx, uuid, { volumeMappings: next }, opts);
  return { id: next.length };
}

export async function removeVolumeMapping(ctx: AppCtx, uuid: string, id: number, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const list = parse<VolumeMapping[]>(current.volumeMappings, []);
  if (!list.some((v) => v.id === id)) throw notFound(`Volume mapping ${id}`);
  await updateMicroservice(ctx, uuid, { volumeMappings: list.filter((v) => v.id !== id) }, opts);
}
