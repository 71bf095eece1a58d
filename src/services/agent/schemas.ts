import { z } from '@hono/zod-openapi';

/**
 * What the Controller answers Edgelet on the agent routes (the Edgelet contract, agent-api.md), as
 * typed schemas. These describe the existing wire format; they do not change what agents receive.
 */

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
    volumeMappings: z.array(z.object({ hostDestination: z.string(), containerDestination: z.string(), accessMode: z.string(), type: z.string() })),
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
        rules: z.array(z.object({ apiGroups: z.array(z.string()), resources: z.array(z.string()), verbs: z.array(z.string()), resourceNames: z.array(z.string()) })),
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
    registries: z.array(z.object({ id: z.number().int(), url: z.string(), isPublic: z.boolean(), username: z.string(), password: z.string(), userEmail: z.string() })),
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
        data: z.record(z.string(), z.string()).openapi({ description: 'File name → base64 content (TLS secrets: the PEM without whitespace)' }),
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
    execSessions: z.array(z.object({ microserviceUuid: z.string().nullable(), sessionId: z.string(), status: z.enum(['PENDING', 'ACTIVE']), agentConnected: z.boolean() })),
  })
  .openapi('AgentExecSessions');

export const AgentLogSessions = z
  .object({
    logSessions: z.array(
      z.object({
        iofogUuid: z.string().optional().openapi({ description: 'Node-log sessions name the fog…' }),
        microserviceUuid: z.string().nullable().optional().openapi({ description: '…microservice-log sessions the microservice' }),
        sessionId: z.string(),
        tailConfig: z.object({ lines: z.number().int(), follow: z.boolean(), since: z.string().nullable(), until: z.string().nullable() }).nullable(),
        status: z.enum(['PENDING', 'ACTIVE']),
        agentConnected: z.boolean(),
      }),
    ),
  })
  .openapi('AgentLogSessions');
