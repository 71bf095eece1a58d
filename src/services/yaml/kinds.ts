import { parse as parseYaml } from 'yaml';
import * as v from 'valibot';
import { ServiceError } from '../../errors';
import { nestingMessage, valueTooDeep } from '../../lib/nesting';

export const API_VERSIONS = ['iofog.org/v3', 'datasance.com/v3'];

const Envelope = v.object({
  apiVersion: v.string('apiVersion: required'),
  kind: v.string('kind: required'),
  metadata: v.object(
    { name: v.pipe(v.string('metadata.name: required'), v.minLength(1, 'metadata.name: required')) },
    'metadata: required',
  ),
  spec: v.optional(v.record(v.string(), v.unknown())),
});

const bad = (message: string) => new ServiceError('VALIDATION_FAILED', message);

/** Parses one YAML document and checks apiVersion/kind; the rest is mapped by the kind's parser. */
export function parseKind(text: string, kind: string): { name: string; spec: Record<string, unknown>; doc: Record<string, unknown> } {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    // So deep that the parser itself ran out of stack: the nesting limit, said as such.
    if (err instanceof RangeError || /Maximum call stack/.test((err as Error).message)) throw bad(nestingMessage('YAML'));
    throw bad(`YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('YAML: expected a single mapping document');
  if (valueTooDeep(doc)) throw bad(nestingMessage('YAML'));
  const env = v.safeParse(Envelope, doc);
  if (!env.success)
    throw bad(
      env.issues[0].message.includes(':')
        ? env.issues[0].message
        : `${env.issues[0].path?.map((p) => String(p.key)).join('.')}: ${env.issues[0].message}`,
    );
  if (!API_VERSIONS.includes(env.output.apiVersion)) throw bad(`apiVersion: must be one of ${API_VERSIONS.join(', ')}`);
  if (env.output.kind !== kind) throw bad(`kind: expected ${kind}, got ${env.output.kind}`);
  return { name: env.output.metadata.name, spec: env.output.spec ?? {}, doc: doc as Record<string, unknown> };
}

const ARCH: Record<string, number> = { amd64: 1, x86: 1, arm64: 2, riscv64: 3, riscv: 3, arm: 4 };

/** The YAML microservice layout (as potctl writes it) → the JSON create/update input. */
export function mapMicroservice(m: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.name !== undefined) out.name = m.name;
  const agent = m.agent as { name?: unknown } | undefined;
  if (agent && typeof agent === 'object' && agent.name !== undefined) out.agentName = agent.name;
  const images = m.images as Record<string, unknown> | undefined;
  if (images !== undefined) {
    if (typeof images !== 'object' || images === null) throw bad(`${path}.images: must be a mapping of architecture to image`);
    const list: Array<{ containerImage: unknown; archId: number }> = [];
    for (const [k, val] of Object.entries(images)) {
      if (k === 'registry' || k === 'catalogId') continue;
      const archId = ARCH[k];
      if (!archId) throw bad(`${path}.images.${k}: unknown architecture (amd64, arm64, riscv64, arm)`);
      list.push({ containerImage: val, archId });
    }
    out.images = list;
    const reg = images.registry;
    if (reg !== undefined) out.registryId = reg === 'remote' ? 1 : reg === 'local' ? 2 : Number(reg);
    if (typeof reg === 'string' && reg !== 'remote' && reg !== 'local' && !/^\d+$/.test(reg))
      throw bad(`${path}.images.registry: remote, local or a registry id`);
  }
  const c = (m.container ?? {}) as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) throw bad(`${path}.container: must be a mapping`);
  const direct = [
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
    'ports',
    'env',
    'extraHosts',
    'cdiDevices',
    'capAdd',
    'capDrop',
    'healthCheck',
  ];
  for (const k of direct) if (c[k] !== undefined) out[k] = c[k];
  if (c.volumes !== undefined) out.volumeMappings = c.volumes;
  if (c.commands !== undefined) out.cmd = c.commands;
  if (c.annotations !== undefined) out.annotations = typeof c.annotations === 'string' ? c.annotations : JSON.stringify(c.annotations);
  if (m.config !== undefined) out.config = typeof m.config === 'string' ? m.config : JSON.stringify(m.config ?? {});
  if (m.schedule !== undefined) out.schedule = m.schedule;
  if (m.rebuild !== undefined) out.rebuild = m.rebuild;
  if (m.serviceAccount !== undefined) out.serviceAccount = m.serviceAccount;
  // NATS access: `natsConfig`, or its YAML alias `natsEnabled` (a boolean or the same object).
  const nats = m.natsConfig ?? m.natsEnabled;
  if (nats !== undefined) out.natsConfig = typeof nats === 'boolean' ? { natsAccess: nats } : nats;
  if (images && typeof images === 'object' && typeof images.catalogId === 'number' && images.catalogId > 0) {
    out.catalogItemId = images.catalogId;
    delete out.images;
  }
  return out;
}

/** Turns a zod issue path of the mapped input back into the YAML path the user wrote. */
export function yamlPath(path: (string | number)[]): string {
  const keys = path.map(String);
  if (keys[0] !== 'microservices') return ['spec', ...keys].join('.');
  const i = keys[1];
  const rest = keys.slice(2);
  const map: Record<string, string> = {
    volumeMappings: 'container.volumes',
    cmd: 'container.commands',
    agentName: 'agent.name',
    registryId: 'images.registry',
  };
  const head = rest[0] ?? '';
  let tail: string;
  if (head === 'images')
    tail = `images${rest.length > 1 ? `[${rest[1]}]` : ''}${rest
      .slice(2)
      .map((r) => `.${r}`)
      .join('')}`;
  else if (map[head]) tail = [map[head], ...rest.slice(1)].join('.');
  else if (['name', 'config', 'schedule', 'rebuild', 'serviceAccount'].includes(head)) tail = rest.join('.');
  else tail = ['container', ...rest].join('.');
  return `spec.microservices[${i}].${tail}`.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

/** `microservices[0].ports[1].external` → ['microservices', 0, 'ports', 1, 'external']. */
function splitPath(path: string): (string | number)[] {
  return path.split('.').flatMap((part) => {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [part];
    const idx = [...m[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    return [...(m[1] ? [m[1]] : []), ...idx];
  });
}

/**
 * Runs a service call for a YAML route and rewrites the field path that leads a validation message
 * (written in terms of the JSON input) into the path the user wrote in the YAML document.
 */
export async function withYamlPaths<T>(run: () => Promise<T>, toYaml: (path: (string | number)[]) => string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'VALIDATION_FAILED') {
      const m = /^([A-Za-z_][\w]*(?:\[\d+\])*(?:\.[A-Za-z_][\w]*(?:\[\d+\])*)*): /.exec(err.message);
      if (m) err.message = `${toYaml(splitPath(m[1]!))}: ${err.message.slice(m[0].length)}`;
    }
    throw err;
  }
}

/** Paths of a single microservice document (kind: Microservice). */
export const microserviceYamlPath = (path: (string | number)[]) =>
  yamlPath(['microservices', 0, ...path]).replace('spec.microservices[0].', 'spec.');

/** ['rules', 0, 'verbs', 1] → `rules[0].verbs[1]` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/**
 * Validates the input mapped from a YAML document with the schema of the JSON route; the 400 names
 * each problem by its path in the document (`toYaml` maps input paths to document paths).
 */
export function validateYaml<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
  },
  input: unknown,
  toYaml: (path: PropertyKey[]) => string = formatPath,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw bad(
    r.error.issues
      .slice(0, 5)
      .map((i) => `${toYaml(i.path) || 'document'}: ${i.message}`)
      .join('; '),
  );
}
