import type { Account, Export, Import, User } from '@nats-io/jwt';
import type { AccountRule, UserRule } from './schemas';
import { invalid } from '../../errors';

export type { AccountRule, UserRule } from './schemas';

const unlimitedJs = {
  memStorage: -1,
  diskStorage: -1,
  streams: -1,
  consumer: -1,
  maxAckPending: -1,
  memMaxStreamBytes: -1,
  diskMaxStreamBytes: -1,
};
const unlimitedCore = {
  maxConnections: -1,
  maxLeafNodeConnections: -1,
  maxData: -1,
  maxMsgPayload: -1,
  maxSubscriptions: -1,
  maxImports: -1,
  maxExports: -1,
  exportsAllowWildcards: true,
};

/** Built-in rules: re-ensured on every use, their names reserved. */
export const PREDEFINED_ACCOUNT_RULES: Record<string, AccountRule> = {
  'default-system-account': {
    name: 'default-system-account',
    ...unlimitedCore,
    exports: [
      { name: 'account-monitoring-streams', subject: '$SYS.ACCOUNT.*.>', type: 'stream', account_token_position: 3 },
      {
        name: 'account-monitoring-services',
        subject: '$SYS.REQ.ACCOUNT.*.*',
        type: 'service',
        response_type: 'Stream',
        account_token_position: 4,
      },
    ],
  },
  'default-account': { name: 'default-account', ...unlimitedCore, ...unlimitedJs },
  'controller-account': { name: 'controller-account', ...unlimitedCore, ...unlimitedJs },
};

export const PREDEFINED_USER_RULES: Record<string, UserRule> = {
  'default-user': {
    name: 'default-user',
    bearerToken: false,
    allowedConnectionTypes: ['STANDARD', 'WEBSOCKET'],
    maxSubscriptions: -1,
    maxData: -1,
    maxPayload: -1,
  },
  'default-mqtt-user': {
    name: 'default-mqtt-user',
    bearerToken: true,
    allowedConnectionTypes: ['MQTT', 'STANDARD'],
    maxSubscriptions: -1,
    maxData: -1,
    maxPayload: -1,
  },
  'default-leaf-user': {
    name: 'default-leaf-user',
    bearerToken: false,
    allowedConnectionTypes: ['LEAFNODE', 'WEBSOCKET'],
    maxSubscriptions: -1,
    maxData: -1,
    maxPayload: -1,
  },
  // The relay connects with NATS over WebSocket (@nats-io/nats-core wsconnect), so WEBSOCKET is allowed
  // besides upstream's STANDARD.
  'controller-user': {
    name: 'controller-user',
    bearerToken: false,
    allowedConnectionTypes: ['STANDARD', 'WEBSOCKET'],
    pubAllow: ['controller.relay.v1.>'],
    subAllow: ['controller.relay.v1.>'],
    maxSubscriptions: -1,
    maxData: -1,
    maxPayload: -1,
  },
};

const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** ByteSize: integer ≥ −1 or `^(-1|[0-9]+[kmgtKMGT]?)$` → bytes (−1 = unlimited). */
export function byteSize(v: number | string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < -1) throw invalid(`${field}: must be -1 (unlimited) or a whole number of bytes`);
    return v;
  }
  const m = /^(-1|[0-9]+)([kmgtKMGT]?)$/.exec(v);
  if (!m) throw invalid(`${field}: must be -1 or a size like 512, 64k, 10m, 1g`);
  if (m[1] === '-1') return -1;
  return Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()]! : 1);
}

const defined = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

function perms(r: { pubAllow?: string[]; pubDeny?: string[]; subAllow?: string[]; subDeny?: string[] }) {
  const side = (allow?: string[], deny?: string[]) =>
    allow?.length || deny?.length
      ? defined({ allow: allow?.length ? allow : undefined, deny: deny?.length ? deny : undefined })
      : undefined;
  return defined({ pub: side(r.pubAllow, r.pubDeny), sub: side(r.subAllow, r.subDeny) });
}

/** Account rule → the account JWT's `nats` claim; revocations carried over. */
export function accountClaims(rule: AccountRule, revocations: Record<string, number>): Partial<Account> {
  const js = [
    'memStorage',
    'diskStorage',
    'streams',
    'consumer',
    'maxAckPending',
    'memMaxStreamBytes',
    'diskMaxStreamBytes',
    'maxBytesRequired',
  ] as const;
  const hasJs = js.some((k) => rule[k] !== undefined);
  const limits = defined({
    conn: rule.maxConnections,
    leaf: rule.maxLeafNodeConnections,
    data: byteSize(rule.maxData, 'maxData'),
    exports: rule.maxExports,
    imports: rule.maxImports,
    payload: byteSize(rule.maxMsgPayload, 'maxMsgPayload'),
    subs: rule.maxSubscriptions,
    wildcards: rule.exportsAllowWildcards,
    disallow_bearer: rule.disallowBearer,
    ...(hasJs
      ? {
          mem_storage: byteSize(rule.memStorage, 'memStorage') ?? -1,
          disk_storage: byteSize(rule.diskStorage, 'diskStorage') ?? -1,
          streams: rule.streams ?? -1,
          consumer: rule.consumer ?? -1,
          max_ack_pending: rule.maxAckPending ?? -1,
          mem_max_stream_bytes: byteSize(rule.memMaxStreamBytes, 'memMaxStreamBytes') ?? -1,
          disk_max_stream_bytes: byteSize(rule.diskMaxStreamBytes, 'diskMaxStreamBytes') ?? -1,
          max_bytes_required: rule.maxBytesRequired ?? false,
        }
      : {}),
    tiered_limits: rule.tieredLimits as never,
  });
  const dp = perms(rule);
  const resp = rule.respMax !== undefined || rule.respTtl !== undefined ? defined({ max: rule.respMax, ttl: rule.respTtl }) : undefined;
  return defined({
    limits,
    default_permissions: dp.pub || dp.sub || resp ? defined({ ...dp, resp }) : undefined,
    description: rule.description,
    info_url: rule.infoUrl,
    imports: rule.imports?.length ? (rule.imports as unknown as Import[]) : undefined,
    exports: rule.exports?.length ? (rule.exports as unknown as Export[]) : undefined,
    revocations: Object.keys(revocations).length ? revocations : undefined,
  });
}

/** User rule → the user JWT's `nats` claim. */
export function userClaims(rule: UserRule): Partial<User> {
  const p = perms(rule);
  return defined({
    bearer_token: rule.bearerToken,
    allowed_connection_types: rule.allowedConnectionTypes,
    pub: p.pub,
    sub: p.sub,
    subs: rule.maxSubscriptions,
    data: byteSize(rule.maxData, 'maxData'),
    payload: byteSize(rule.maxPayload, 'maxPayload'),
    src: rule.src,
    times: rule.times,
    locale: rule.timesLocation,
    resp: rule.respMax !== undefined || rule.respTtl !== undefined ? defined({ max: rule.respMax, ttl: rule.respTtl }) : undefined,
    tags: rule.tags,
    proxy_required: rule.proxyRequired,
  } as Record<string, unknown>) as Partial<User>;
}

/** Rule string fields must be Latin-1 encodable (the JWT library's constraint, v3.8). */
export function checkLatin1(value: unknown, path = ''): void {
  if (typeof value === 'string') {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point (anything outside Latin-1)
    if (/[^\u0000-\u00ff]/.test(value)) throw invalid(`${path || 'value'}: must contain Latin-1 characters only`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkLatin1(v, `${path}[${i}]`);
    });
  } else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkLatin1(v, path ? `${path}.${k}` : k);
}

/** A name NATS accepts: lower-case letters, digits and single dashes, at most `max` characters. */
export function slug(value: string, max = 48): string {
  let s = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!s) return 'default';
  if (s.length > max) s = s.slice(0, max).replace(/-+$/g, '');
  return s;
}
