import { z } from '@hono/zod-openapi';
import { CHANGE_FLAGS } from '../changes/flags';
import { ImageSchema, PortSchema, VolumeSchema } from '../microservices/schemas';

/**
 * The Edgelet wire contract (agent-api.md) as typed schemas: what agents send and what they receive.
 * Bodies accept unknown keys (agents send more than we read); numbers accept integers and floats.
 */

const num = z.number().finite();
const nonNeg = num.min(0);

const ProvisionFields = z.object({
  key: z.string().min(1).max(256),
  type: z.number().int().min(0).max(4).openapi({ description: 'Architecture id: 0 auto, 1 amd64, 2 arm64, 3 riscv64, 4 arm' }),
  engine: z.string().min(1).max(32).optional().openapi({ description: 'edgelet, docker or podman' }),
});
export const ProvisionBody = ProvisionFields.loose().openapi('AgentProvisionRequest');
export type ProvisionInput = z.infer<typeof ProvisionFields>;

export const ProvisionResponse = z
  .object({
    uuid: z.string(),
    privateKey: z.string().openapi({ description: 'base64 of the JSON private Ed25519 JWK; the Controller keeps only the public key' }),
    namespace: z.string(),
  })
  .openapi('AgentProvisionResponse');

const AgentConfigFields = z.object({
  networkInterface: z.string().max(255),
  containerEngineUrl: z.string().max(1024),
  diskLimit: nonNeg,
  diskDirectory: z.string().max(1024),
  memoryLimit: nonNeg,
  cpuLimit: nonNeg,
  logLimit: nonNeg,
  logDirectory: z.string().max(1024),
  logFileCount: nonNeg,
  statusFrequency: nonNeg,
  changeFrequency: nonNeg,
  watchdogEnabled: z.boolean(),
  edgeGuardFrequency: nonNeg,
  gpsScanFrequency: nonNeg,
  gpsDevice: z.string().max(255),
  gpsMode: z.string().max(32),
  latitude: num.min(-90).max(90),
  longitude: num.min(-180).max(180),
  logLevel: z.string().max(32),
  availableDiskThreshold: nonNeg,
  pruningFrequency: nonNeg,
  upgradeScanFrequency: nonNeg,
  timeZone: z.string().max(64),
});
export const AgentConfigBody = AgentConfigFields.loose().partial().openapi('AgentConfig');
/** What the agent pushes with PATCH /agent/config (the fog's agent-configuration fields, plus one it keeps locally). */
export type AgentConfigInput = Partial<z.infer<typeof AgentConfigFields>>;

export const ChangesSchema = z
  .object({ ...Object.fromEntries(CHANGE_FLAGS.map((f) => [f, z.boolean()])), lastUpdated: z.string() } as Record<string, z.ZodTypeAny>)
  .openapi('AgentChanges');

const StatusFields = z.object({
  daemonStatus: z.string().max(32),
  daemonOperatingDuration: nonNeg,
  daemonLastStart: nonNeg,
  warningMessage: z.string().max(8192),
  memoryUsage: num,
  diskUsage: num,
  cpuUsage: num,
  memoryViolation: z.boolean(),
  diskViolation: z.boolean(),
  cpuViolation: z.boolean(),
  systemAvailableDisk: nonNeg,
  systemAvailableMemory: nonNeg,
  systemTotalCpu: num,
  microserviceStatus: z.string().openapi({ description: 'JSON array encoded as a string' }),
  repositoryCount: nonNeg,
  repositoryStatus: z.string(),
  systemTime: nonNeg,
  lastStatusTime: nonNeg,
  ipAddress: z.string().max(64),
  ipAddressExternal: z.string().max(64),
  lastCommandTime: nonNeg,
  tunnelStatus: z.string(),
  version: z.string().max(64),
  isReadyToUpgrade: z.boolean(),
  isReadyToRollback: z.boolean(),
  activeVolumeMounts: nonNeg,
  volumeMountLastUpdate: nonNeg,
  gpsStatus: z.string().max(64),
  availableRuntimes: z.array(z.string().max(64)).max(64),
  runtimeAgentPhase: z.string().max(64),
  controlPlaneQuiesced: z.boolean(),
});
export const StatusBody = StatusFields.loose().partial().openapi('AgentStatus');
export type AgentStatusInput = Partial<z.infer<typeof StatusFields>>;

export const DeprovisionBody = z
  .looseObject({ microserviceUuids: z.array(z.string().max(64)).max(10_000) })
  .openapi('AgentDeprovisionRequest');
export const GpsBody = z.looseObject({ latitude: num.min(-90).max(90), longitude: num.min(-180).max(180) }).openapi('AgentGps');
export const ChangesAck = z.looseObject({ lastUpdated: z.string().min(1).max(64) }).openapi('AgentChangesAck');
export const HalBody = z.looseObject({ info: z.string().max(1_000_000) }).openapi('AgentHalInfo');

export const ControllerRegisterBody = z
  .strictObject({
    uuid: z.string().min(1).max(64),
    name: z.string().min(1).max(63).optional(),
    schedule: z.number().int().min(0).max(100).optional(),
    images: z.array(ImageSchema).min(1).max(4),
    registryId: z.number().int().min(1),
    ports: z.array(PortSchema).max(64).optional(),
    volumeMappings: z.array(VolumeSchema).max(64).optional(),
    env: z
      .array(z.object({ key: z.string().min(1).max(1024), value: z.string().max(100_000) }))
      .max(256)
      .optional(),
    capAdd: z.array(z.string().max(64)).max(64).optional(),
    runtime: z.string().max(64).optional(),
    hostNetworkMode: z.boolean().optional(),
    config: z.string().max(1_000_000).optional(),
  })
  .openapi('ControllerRegisterRequest');
export type ControllerRegisterInput = z.infer<typeof ControllerRegisterBody>;

// ---- answers ----

const KeyValue = z.object({ key: z.string(), value: z.string() });

/** One microservice as the agent receives it (GET /agent/microservices, /agent/microservices/{uuid}). */
export const AgentMicroservice = z
  .object({
    uuid: z.string(),
    name: z.string(),
    application: z.string(),
    imageId: z.string().openapi({ description: "The image for this fog's architecture" }),
    config: z.string().openapi({ description: 'The configuration document as text' }),
    annotations: z.string().nullable(),
    rebuild: z.boolean(),
    hostNetworkMode: z.boolean(),
    isPrivileged: z.boolean(),
    cpuSetCpus: z.string(),
    memoryLimit: z.number().nullable(),
    healthCheck: z
      .object({
        test: z.array(z.string()).optional(),
        interval: z.number().optional(),
        timeout: z.number().optional(),
        startPeriod: z.number().optional(),
        startInterval: z.number().optional(),
        retries: z.number().optional(),
      })
      .openapi({ description: '{} when the microservice has none' }),
    pidMode: z.string(),
    ipcMode: z.string(),
    runAsUser: z.string(),
    platform: z.string(),
    runtime: z.string(),
    logSize: z.number(),
    registryId: z.number().int(),
    portMappings: z.array(z.object({ internal: z.number().int(), external: z.number().int(), protocol: z.enum(['tcp', 'udp']) })),
    volumeMappings: z.array(
      z.object({ hostDestination: z.string(), containerDestination: z.string(), accessMode: z.string(), type: z.string() }),
    ),
    delete: z.boolean(),
    deleteWithCleanup: z.boolean(),
    env: z.array(KeyValue).openapi({ description: 'Secret and config-map references already resolved' }),
    extraHosts: z.array(z.string()).openapi({ description: '`name:address`' }),
    cmd: z.array(z.string()),
    cdiDevices: z.array(z.string()),
    capAdd: z.array(z.string()),
    capDrop: z.array(z.string()),
    isRouter: z.boolean(),
    isNats: z.boolean(),
    isController: z.boolean(),
    schedule: z.number().int(),
    serviceAccount: z
      .object({
        name: z.string(),
        roleRef: z.object({ kind: z.literal('Role'), name: z.string(), apiGroup: z.string() }),
        rules: z.array(
          z.object({
            apiGroups: z.array(z.string()),
            resources: z.array(z.string()),
            verbs: z.array(z.string()),
            resourceNames: z.array(z.string()),
          }),
        ),
      })
      .nullable(),
    isSystem: z.boolean(),
  })
  .openapi('AgentMicroservice');
export type AgentMicroservice = z.infer<typeof AgentMicroservice>;
export const AgentMicroserviceList = z.object({ microservices: z.array(AgentMicroservice) }).openapi('AgentMicroserviceList');
export const AgentMicroserviceOne = z.object({ microservice: AgentMicroservice }).openapi('AgentMicroserviceOne');

/** Registries with their passwords: the agent logs in to pull. */
export const AgentRegistryList = z
  .object({
    registries: z.array(
      z.object({
        id: z.number().int(),
        url: z.string(),
        isPublic: z.boolean(),
        username: z.string(),
        password: z.string(),
        userEmail: z.string(),
      }),
    ),
  })
  .openapi('AgentRegistryList');

export const AgentVolumeMountList = z
  .object({
    volumeMounts: z.array(
      z.object({
        uuid: z.string(),
        name: z.string(),
        version: z.number().int(),
        type: z.enum(['secret', 'configMap']),
        data: z
          .record(z.string(), z.string())
          .openapi({ description: 'File name → base64 content (TLS secrets: the PEM without whitespace)' }),
      }),
    ),
  })
  .openapi('AgentVolumeMountList');

export const AgentTunnel = z
  .object({
    tunnel: z.object({
      username: z.string(),
      password: z.string(),
      host: z.string(),
      rport: z.number().int(),
      lport: z.number().int(),
      rsakey: z.string(),
      closed: z.boolean(),
      iofogUuid: z.string(),
    }),
  })
  .openapi('AgentTunnel');

export const AgentExecSessions = z
  .object({
    execSessions: z.array(
      z.object({
        microserviceUuid: z.string().nullable(),
        sessionId: z.string(),
        status: z.enum(['PENDING', 'ACTIVE']),
        agentConnected: z.boolean(),
      }),
    ),
  })
  .openapi('AgentExecSessions');

export const AgentLogSessions = z
  .object({
    logSessions: z.array(
      z.object({
        iofogUuid: z.string().optional().openapi({ description: 'Node-log sessions name the fog…' }),
        microserviceUuid: z.string().nullable().optional().openapi({ description: '…microservice-log sessions the microservice' }),
        sessionId: z.string(),
        tailConfig: z
          .object({ lines: z.number().int(), follow: z.boolean(), since: z.string().nullable(), until: z.string().nullable() })
          .nullable(),
        status: z.enum(['PENDING', 'ACTIVE']),
        agentConnected: z.boolean(),
      }),
    ),
  })
  .openapi('AgentLogSessions');
