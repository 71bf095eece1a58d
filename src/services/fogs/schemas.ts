import { z } from '@hono/zod-openapi';
import { safeName } from '../../http/names';

/**
 * The wire contract of fogs (agents): request bodies and response objects, defined once. Field names,
 * types and nullability follow upstream's IOFogNodeInfoResponse / UpdateIOFogNodeRequestBody (swagger.yaml)
 * where v3.8 kept them; tests/fixtures/upstream-swagger/differences.json lists where we differ and why.
 */

const port = z.number().int().min(1).max(65535);
const nonNeg = z.number().finite().min(0);
const size = z
  .string()
  .max(32)
  .regex(/^[0-9]+\s*([mM][bB]?|[gG][bB]?|[tT][bB]?)?$/, 'must be a size such as 10g, 512m or 1tb');
/** Agent poll periods in seconds. 0 is upstream's minimum too: Edgelet then polls at its own default period. */
const frequency = z.number().int().min(0).max(86_400);

/**
 * Create/update fields. Unknown keys are ignored, as upstream. The fields GET answers with `null`
 * (nothing set yet) take `null` back — it clears them — so a fog's own GET body is a valid PATCH.
 */
const FogFields = z.object({
  name: safeName(255).regex(/^[^\s/][^/]*$/, 'must not start with a space or contain "/"'),
  archId: z.number().int().min(0).max(4).openapi({ description: '0 auto, 1 amd64, 2 arm64, 3 riscv64, 4 arm' }),
  location: z.string().max(255),
  description: z.string().max(2048),
  latitude: z.number().min(-90).max(90).nullable(),
  longitude: z.number().min(-180).max(180).nullable(),
  gpsMode: z.enum(['auto', 'manual', 'dynamic', 'off']),
  networkInterface: z.string().max(255),
  containerEngine: z.enum(['edgelet', 'docker', 'podman']),
  containerEngineUrl: z.string().max(1024),
  deploymentType: z.enum(['native', 'container']),
  diskLimit: nonNeg,
  diskDirectory: z.string().max(1024),
  memoryLimit: nonNeg,
  cpuLimit: nonNeg,
  logLimit: nonNeg,
  logDirectory: z.string().max(1024),
  logFileCount: z.number().int().min(0),
  statusFrequency: frequency.openapi({ description: 'Seconds between status reports; 0 = the agent’s default period (10 s)' }),
  changeFrequency: frequency.openapi({ description: 'Seconds between change polls; 0 = the agent’s default period (20 s)' }),
  gpsDevice: z.string().max(255),
  gpsScanFrequency: z.number().int().min(0),
  edgeGuardFrequency: z.number().int().min(0),
  watchdogEnabled: z.boolean(),
  pruningFrequency: z.number().int().min(0),
  availableDiskThreshold: nonNeg,
  logLevel: z.string().min(1).max(32),
  timeZone: z.string().max(64),
  isSystem: z.boolean(),
  host: z.string().min(1).max(255).nullable(),
  routerMode: z.enum(['none', 'edge', 'interior']),
  messagingPort: port,
  interRouterPort: port.nullable(),
  edgeRouterPort: port.nullable(),
  upstreamRouters: z.array(z.string().min(1).max(255)).max(64),
  networkRouter: z.string().max(255).nullable(),
  natsMode: z.enum(['none', 'leaf', 'server']),
  natsServerPort: port,
  natsLeafPort: port,
  natsClusterPort: port,
  natsMqttPort: port,
  natsHttpPort: port,
  jsStorageSize: size,
  jsMemoryStoreSize: size,
  upstreamNatsServers: z.array(z.string().min(1).max(255)).max(64),
  bluetoothEnabled: z.boolean(),
  abstractedHardwareEnabled: z.boolean(),
  tags: z.array(z.string().min(1).max(255)).max(64),
});

export const FogCreate = FogFields.partial()
  .required({ name: true, archId: true })
  .openapi('FogCreate', {
    example: { name: 'edge-lisbon-01', archId: 2, host: '10.20.0.15', routerMode: 'edge', natsMode: 'leaf', tags: ['site:lisbon'] },
  });
export const FogUpdate = FogFields.partial().openapi('FogUpdate');
export type FogInput = z.infer<typeof FogUpdate>;
export type FogCreateInput = z.infer<typeof FogCreate>;

export const PlatformStatus = z
  .object({
    phase: z.enum(['Pending', 'Progressing', 'Ready', 'Failed', 'Deleting']),
    generation: z.number().int(),
    observedGeneration: z.number().int(),
    lastError: z.string().nullable(),
    lastTransitionAt: z.string().nullable().openapi({ format: 'date-time' }),
    conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })),
  })
  .openapi('FogPlatformStatus', { description: 'Progress of the asynchronous router/NATS reconcile of the fog' });

const FogVolumeMount = z.object({
  name: z.string(),
  version: z.number().int(),
  configMapName: z.string().nullable(),
  secretName: z.string().nullable(),
});

/** A fog as GET /iofog/{uuid} and GET /iofog-list show it. Times and sizes the agent has not reported yet are 0 (epoch ms / bytes). */
export const FogResponse = z
  .object({
    uuid: z.string(),
    name: z.string(),
    location: z.string(),
    description: z.string(),
    gpsMode: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    gpsStatus: z.string().openapi({ description: 'As last reported by the agent' }),
    daemonStatus: z
      .string()
      .openapi({ description: 'UNKNOWN, RUNNING, STOPPED, WAITING, WARNING, DEBUGGING, DEPROVISIONED, ERROR or NOT_PROVISIONED' }),
    securityStatus: z.string(),
    warningMessage: z.string(),
    lastActive: z.number(),
    daemonOperatingDuration: z.number(),
    daemonLastStart: z.number(),
    memoryUsage: z.number(),
    diskUsage: z.number(),
    cpuUsage: z.number(),
    memoryViolation: z.boolean(),
    diskViolation: z.boolean(),
    cpuViolation: z.boolean(),
    systemTotalCpu: z.number().nullable(),
    systemAvailableDisk: z.number(),
    systemAvailableMemory: z.number(),
    repositoryCount: z.number(),
    repositoryStatus: z.string(),
    activeVolumeMounts: z.number().openapi({ description: 'How many volume mounts the agent has applied' }),
    volumeMountLastUpdate: z.number(),
    volumeMounts: z.array(FogVolumeMount).openapi({ description: 'Volume mounts linked to this fog' }),
    systemTime: z.number(),
    lastStatusTime: z.number(),
    lastCommandTime: z.number(),
    ipAddress: z.string(),
    ipAddressExternal: z.string(),
    networkInterface: z.string(),
    containerEngine: z.string(),
    containerEngineUrl: z.string(),
    deploymentType: z.string(),
    diskLimit: z.number(),
    diskDirectory: z.string(),
    memoryLimit: z.number(),
    cpuLimit: z.number(),
    logLimit: z.number(),
    logDirectory: z.string(),
    logFileCount: z.number().int(),
    statusFrequency: z.number().int(),
    changeFrequency: z.number().int(),
    gpsDevice: z.string(),
    gpsScanFrequency: z.number().int(),
    edgeGuardFrequency: z.number().int(),
    watchdogEnabled: z.boolean(),
    pruningFrequency: z.number().int(),
    availableDiskThreshold: z.number(),
    logLevel: z.string(),
    timeZone: z.string(),
    bluetoothEnabled: z.boolean(),
    abstractedHardwareEnabled: z.boolean(),
    version: z.string(),
    isReadyToUpgrade: z.boolean(),
    isReadyToRollback: z.boolean(),
    tunnel: z.string(),
    isSystem: z.boolean(),
    archId: z.number().int(),
    arch: z.object({ id: z.number().int(), name: z.string(), image: z.string(), description: z.string() }),
    availableRuntimes: z.array(z.string()),
    host: z.string().nullable(),
    routerMode: z.enum(['none', 'edge', 'interior']),
    messagingPort: z.number().int(),
    interRouterPort: z.number().int().nullable(),
    edgeRouterPort: z.number().int().nullable(),
    upstreamRouters: z.array(z.string()),
    networkRouter: z.string().nullable(),
    natsMode: z.enum(['none', 'leaf', 'server']),
    natsServerPort: z.number().int(),
    natsLeafPort: z.number().int(),
    natsClusterPort: z.number().int(),
    natsMqttPort: z.number().int(),
    natsHttpPort: z.number().int(),
    jsStorageSize: z.string(),
    jsMemoryStoreSize: z.string(),
    upstreamNatsServers: z.array(z.string()),
    tags: z.array(z.string()),
    platformStatus: PlatformStatus,
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Fog', { description: 'A fog (edge node running an agent)' });
export type FogResponse = z.infer<typeof FogResponse>;

export const FogList = z.object({ fogs: z.array(FogResponse) }).openapi('FogList');
export const FogCreated = z.object({ uuid: z.string() }).openapi('FogCreated');
export const ProvisioningKey = z
  .object({ key: z.string(), expirationTime: z.number().int().openapi({ description: 'epoch ms' }), caCert: z.string() })
  .openapi('ProvisioningKey');
export const Tunnel = z
  .object({
    username: z.string(),
    host: z.string(),
    remotePort: z.number().int(),
    localPort: z.number().int(),
    status: z.enum(['open', 'closed']),
  })
  .openapi('FogTunnel');
export const TunnelAction = z.object({ action: z.enum(['open', 'close']) }).openapi('FogTunnelAction');
export const HalInfo = z.object({ info: z.string().openapi({ description: 'JSON text reported by the agent' }) }).openapi('FogHalInfo');
