import type { microservice } from '../../../db/schema/index';
import { invalid } from '../../errors';
import { json, type MicroserviceInput, type VolumeMapping } from './rows';

// Turns a microservice input into the stored column values (JSON text, normalised volumes and config).

/**
 * The service account of a microservice is system-managed and immutable from this side: a user-supplied
 * `type: serviceAccount` entry is dropped, never stored or sent to the agent. The
 * account reaches the agent as the `serviceAccount` object of its microservice — not
 * as a volume mapping, because Edgelet reads any volume type it does not know as a host bind mount
 * (its microservice parser maps everything but `volume`/`volumeMount` to BIND), so a `serviceAccount`
 * mapping would make it bind-mount a host path named after the account.
 */
function normalizeVolumes(list: VolumeMapping[] | undefined): VolumeMapping[] | undefined {
  if (!list) return undefined;
  const kept = list.map((v, i) => [v, i] as const).filter(([v]) => v.type !== 'serviceAccount');
  return kept.map(([v, i], n) => {
    const type = v.type ?? 'bind';
    if (type === 'volume' && !/^[a-zA-Z0-9_.-]/.test(v.hostDestination))
      throw invalid(`volumeMappings[${i}].hostDestination: a volume name must start with a letter, digit, "_", "." or "-"`);
    if (type === 'bind' && !v.hostDestination.startsWith('/'))
      throw invalid(`volumeMappings[${i}].hostDestination: a bind mount needs an absolute host path`);
    return { id: n + 1, hostDestination: v.hostDestination, containerDestination: v.containerDestination, accessMode: v.accessMode, type };
  });
}

/**
 * The stored config text. Upstream clients send JSON text, sometimes with its quotes escaped (`{\\"a\\":1}`);
 * upstream unescapes those and stores whatever string it gets, so we do the same for text that is not
 * JSON as sent (JSON text is kept byte for byte). An object is stored as its JSON text.
 */
function configText(c: MicroserviceInput['config']): string | undefined {
  if (c === undefined) return undefined;
  if (typeof c !== 'string') return JSON.stringify(c);
  try {
    JSON.parse(c);
    return c;
  } catch {
    return c.split('\\"').join('"');
  }
}

/** GET answers null for these when nothing is set; sent back, null leaves them as they are. */
export function dropNullRefs<T extends MicroserviceInput>(input: T): T {
  const out = { ...input };
  for (const k of ['iofogUuid', 'agentName', 'catalogItemId', 'serviceAccount'] as const) if (out[k] === null) delete out[k];
  return out;
}

export function columns(input: MicroserviceInput): Partial<typeof microservice.$inferInsert> {
  const out: Partial<typeof microservice.$inferInsert> = {};
  const copy = [
    'registryId',
    'catalogItemId',
    'annotations',
    'hostNetworkMode',
    'isPrivileged',
    'pidMode',
    'ipcMode',
    'cpuSetCpus',
    'runAsUser',
    'platform',
    'runtime',
    'memoryLimit',
    'logSize',
    'schedule',
  ] as const;
  for (const k of copy) if (input[k] !== undefined) (out as Record<string, unknown>)[k] = input[k];
  const cfg = configText(input.config);
  if (cfg !== undefined) out.config = cfg;
  const jsonCols = ['images', 'env', 'extraHosts', 'cmd', 'cdiDevices', 'capAdd', 'capDrop', 'healthCheck', 'ports'] as const;
  for (const k of jsonCols) if (input[k] !== undefined) (out as Record<string, unknown>)[k] = json(input[k]);
  const vols = normalizeVolumes(input.volumeMappings);
  if (vols) out.volumeMappings = json(vols);
  if (input.natsConfig) {
    out.natsAccess = input.natsConfig.natsAccess;
    // Turning NATS access off also forgets the rule, so turning it on again starts from the default.
    out.natsRule = input.natsConfig.natsAccess ? (input.natsConfig.natsRule ?? null) : null;
  }
  return out;
}
