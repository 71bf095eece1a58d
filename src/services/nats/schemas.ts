import { z } from '@hono/zod-openapi';
import { safeName } from '../../http/names';

/** The NATS wire contract: operator, accounts, users, account and user rules, the hub. */

/**
 * JetStream limits per tier (`R1`, `R3`, …), handed to the account JWT's `tiered_limits` as given: the
 * keys are the JWT's own snake_case names. Upstream types the map as a free object; the known limits are
 * listed here, and other keys are kept as they are for newer nats-server releases.
 */
const jsLimit = z.number().int().min(-1).optional();
const TierLimits = z
  .object({
    mem_storage: jsLimit,
    disk_storage: jsLimit,
    streams: jsLimit,
    consumer: jsLimit,
    max_ack_pending: jsLimit,
    mem_max_stream_bytes: jsLimit,
    disk_max_stream_bytes: jsLimit,
    max_bytes_required: z.boolean().optional(),
  })
  .catchall(z.unknown())
  .openapi('NatsTierLimits');
const TieredLimits = z.record(z.string().min(1).max(32), TierLimits).openapi({ description: 'JetStream limits per replication tier' });

export const Operator = z.object({ name: z.string(), publicKey: z.string(), jwt: z.string() }).openapi('NatsOperator');
export const Account = z
  .object({
    id: z.number(),
    name: z.string(),
    publicKey: z.string(),
    jwt: z.string(),
    isSystem: z.boolean(),
    isLeafSystem: z.boolean(),
    applicationId: z.number().nullable(),
    natsRule: z.string(),
  })
  .openapi('NatsAccount');
export const User = z
  .object({
    id: z.number(),
    name: z.string(),
    publicKey: z.string(),
    jwt: z.string(),
    isBearer: z.boolean(),
    natsRule: z.string().optional(),
    expiresAt: z.string().optional(),
    accountId: z.number().optional(),
    accountName: z.string().optional(),
  })
  .openapi('NatsUser');
export const UserCreate = z
  .strictObject({
    name: safeName(255),
    expiresIn: z
      .string()
      .max(8)
      .regex(/^[0-9]+[hdm]$/, 'must look like 24h, 30d or 6m')
      .optional(),
    natsRule: z.string().min(1).max(255).optional(),
  })
  .openapi('NatsUserCreate');

const limit = z.number().int().min(-1);
const byteSize = z.union([
  z.number().int().min(-1),
  z.string().regex(/^(-1|[0-9]+[kmgtKMGT]?)$/, 'must be -1 or a size like 64k, 10m, 1g'),
]);
const subjects = z.array(z.string().min(1).max(1024)).max(256);
export const AccountRuleBody = z
  .strictObject({
    name: safeName(255),
    description: z.string().max(1024).optional(),
    infoUrl: z.string().max(1024).optional(),
    maxConnections: limit.optional(),
    maxLeafNodeConnections: limit.optional(),
    maxExports: limit.optional(),
    maxImports: limit.optional(),
    maxSubscriptions: limit.optional(),
    streams: limit.optional(),
    consumer: limit.optional(),
    maxAckPending: limit.optional(),
    maxData: byteSize.optional(),
    maxMsgPayload: byteSize.optional(),
    memStorage: byteSize.optional(),
    diskStorage: byteSize.optional(),
    memMaxStreamBytes: byteSize.optional(),
    diskMaxStreamBytes: byteSize.optional(),
    exportsAllowWildcards: z.boolean().optional(),
    disallowBearer: z.boolean().optional(),
    maxBytesRequired: z.boolean().optional(),
    respMax: z.number().int().min(0).optional(),
    respTtl: z.number().int().min(0).optional(),
    imports: z
      .array(
        z.strictObject({
          name: z.string().max(255),
          subject: z.string().min(1).max(1024),
          type: z.enum(['stream', 'service']),
          account: z.string().min(1).max(64),
          token: z.string().optional(),
          to: z.string().optional(),
          local_subject: z.string().optional(),
          share: z.boolean().optional(),
        }),
      )
      .max(256)
      .optional(),
    exports: z
      .array(
        z.strictObject({
          name: z.string().max(255),
          subject: z.string().min(1).max(1024),
          type: z.enum(['stream', 'service']),
          description: z.string().optional(),
          info_url: z.string().optional(),
          token_req: z.boolean().optional(),
          response_type: z.enum(['Singleton', 'Stream', 'Chunked']).optional(),
          account_token_position: z.number().int().min(0).optional(),
        }),
      )
      .max(256)
      .optional(),
    tieredLimits: TieredLimits.optional(),
    pubAllow: subjects.optional(),
    pubDeny: subjects.optional(),
    subAllow: subjects.optional(),
    subDeny: subjects.optional(),
  })
  .openapi('NatsAccountRule');
export const UserRuleBody = z
  .strictObject({
    name: safeName(255),
    description: z.string().max(1024).optional(),
    maxSubscriptions: limit.optional(),
    maxPayload: byteSize.optional(),
    maxData: byteSize.optional(),
    bearerToken: z.boolean().optional(),
    proxyRequired: z.boolean().optional(),
    allowedConnectionTypes: z
      .array(z.enum(['STANDARD', 'WEBSOCKET', 'LEAFNODE', 'LEAFNODE_WS', 'MQTT', 'MQTT_WS', 'IN_PROCESS']))
      .max(7)
      .optional(),
    src: z.array(z.string().max(64)).max(256).optional(),
    times: z
      .array(z.strictObject({ start: z.string().max(16), end: z.string().max(16) }))
      .max(64)
      .optional(),
    timesLocation: z.string().max(64).optional(),
    respMax: z.number().int().min(0).optional(),
    respTtl: z.number().int().min(0).optional(),
    pubAllow: subjects.optional(),
    pubDeny: subjects.optional(),
    subAllow: subjects.optional(),
    subDeny: subjects.optional(),
    tags: z.array(z.string().max(255)).max(64).optional(),
  })
  .openapi('NatsUserRule');
/**
 * A PATCH replaces the rule's settings with the body (the name stays). It takes back what the list
 * answers: `isPredefined` is read-only and ignored, and `name`, when sent, must be the rule's own.
 */
const readOnlyRule = { isPredefined: z.boolean().optional().openapi({ description: 'Read-only; ignored on input' }) };
export const AccountRulePatch = AccountRuleBody.partial().extend(readOnlyRule).openapi('NatsAccountRulePatch');
export const UserRulePatch = UserRuleBody.partial().extend(readOnlyRule).openapi('NatsUserRulePatch');
export const AccountRuleView = z.object({ ...AccountRuleBody.shape, isPredefined: z.boolean() }).openapi('NatsAccountRuleView');
export const UserRuleView = z.object({ ...UserRuleBody.shape, isPredefined: z.boolean() }).openapi('NatsUserRuleView');

export type AccountRule = z.infer<typeof AccountRuleBody>;
export type UserRule = z.infer<typeof UserRuleBody>;
export type AccountRuleViewT = z.infer<typeof AccountRuleView>;
export type UserRuleViewT = z.infer<typeof UserRuleView>;

const hubPort = z.number().int().min(1).max(65535);
const hubSize = z
  .string()
  .max(32)
  .regex(/^[0-9]+\s*([mM][bB]?|[gG][bB]?|[tT][bB]?)?$/, 'must be a size such as 10g, 512m or 1tb');
export const NatsHub = z
  .object({
    host: z.string(),
    serverPort: z.number(),
    clusterPort: z.number(),
    leafPort: z.number(),
    mqttPort: z.number(),
    httpPort: z.number(),
    jsStorageSize: z.string(),
    jsMemoryStoreSize: z.string(),
  })
  .openapi('NatsHub');
export const NatsHubPut = z
  .strictObject({
    host: z.string().min(1).max(1024),
    serverPort: hubPort.optional(),
    clusterPort: hubPort.optional(),
    leafPort: hubPort.optional(),
    mqttPort: hubPort.optional(),
    httpPort: hubPort.optional(),
    jsStorageSize: hubSize.optional(),
    jsMemoryStoreSize: hubSize.optional(),
  })
  .openapi('NatsHubUpdate');

/** The all-users list adds where each user lives (upstream NatsUserWithContextResponse). */
export const UserWithContext = z
  .object({
    id: z.number(),
    name: z.string(),
    publicKey: z.string(),
    jwt: z.string(),
    isBearer: z.boolean(),
    accountId: z.number(),
    accountName: z.string(),
    applicationId: z.number().nullable(),
    applicationName: z.string().nullable(),
    microserviceUuid: z.string().nullable(),
  })
  .openapi('NatsUserWithContext');
/** One account's users: upstream's NatsUserResponse. */
export const AccountUser = z
  .object({ id: z.number(), name: z.string(), publicKey: z.string(), jwt: z.string(), isBearer: z.boolean() })
  .openapi('NatsAccountUser');
export const Creds = z.object({ credsBase64: z.string().openapi({ description: 'The .creds file, base64' }) }).openapi('NatsCreds');

export type AccountViewT = z.infer<typeof Account>;
export type UserViewT = z.infer<typeof User>;
export type UserWithContextT = z.infer<typeof UserWithContext>;
export type AccountUserT = z.infer<typeof AccountUser>;
export type NatsHubT = z.infer<typeof NatsHub>;
