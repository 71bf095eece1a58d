// An Edgelet simulator for e2e tests: provisions against a running Controller, signs a fresh EdDSA
// token per request (agent-api §1.4.2), and runs change cycles in Edgelet's order with its
// initialization rules (§3.2, §3.3), reporting status for the microservices it "runs".
import { SignJWT, importJWK, type JWK } from 'jose';

export interface AgentResponse {
  status: number;
  body: any;
}

export interface CycleRecord {
  flags: string[];
  calls: string[];
  acknowledged: boolean;
  initialization: boolean;
}

/** Handled flags in Edgelet's processing order (§3.2). */
const ORDER = ['deleteNode', 'reboot', 'config', 'version', 'registries', 'prune', 'volumeMounts', 'microservices', 'execSessions', 'tunnel', 'logs'] as const;

export class Edgelet {
  uuid = '';
  namespace = '';
  private key?: CryptoKey;
  private initialized = false;
  /** What the agent runs: microservice uuid → the object the Controller sent. */
  readonly running = new Map<string, Record<string, any>>();
  registries: Array<Record<string, unknown>> = [];
  volumeMounts: Array<Record<string, unknown>> = [];
  readonly cycles: CycleRecord[] = [];
  rebooted = 0;
  pruned = 0;
  deleted = false;
  localConfig: Record<string, unknown> = {
    networkInterface: 'eth0',
    containerEngineUrl: 'unix:///run/containerd/containerd.sock',
    diskLimit: 50,
    diskDirectory: '/var/lib/iofog/',
    memoryLimit: 4096,
    cpuLimit: 80,
    logLimit: 10,
    logDirectory: '/var/log/iofog/',
    logFileCount: 10,
    statusFrequency: 10,
    changeFrequency: 20,
    watchdogEnabled: false,
    edgeGuardFrequency: 0,
    gpsDevice: '',
    gpsScanFrequency: 60,
    gpsMode: 'auto',
    latitude: 41.0151,
    longitude: 28.9795,
    logLevel: 'INFO',
    availableDiskThreshold: 20,
    pruningFrequency: 0,
    upgradeScanFrequency: 24,
  };
  private readonly startedAt = Date.now();

  /** `controllerUrl` already contains the API prefix, e.g. http://127.0.0.1:51121/api/v3. */
  constructor(readonly controllerUrl: string, readonly opts: { archId?: number; engine?: string; runtimes?: string[] } = {}) {}

  async provision(key: string): Promise<AgentResponse> {
    const res = await this.http('POST', '/agent/provision', { key, type: this.opts.archId ?? 1, engine: this.opts.engine ?? 'edgelet' }, false);
    if (res.status === 200) {
      this.uuid = res.body.uuid;
      this.namespace = res.body.namespace;
      const jwk = JSON.parse(Buffer.from(res.body.privateKey, 'base64').toString('utf8')) as JWK;
      this.key = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
      this.initialized = false;
    }
    return res;
  }

  async token(): Promise<string> {
    if (!this.key) throw new Error('not provisioned');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tokenUse: 'controller' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setSubject(this.uuid)
      .setIssuer('https://edgelet.default.svc.bridge.local')
      .setAudience([this.controllerUrl])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 600)
      .setJti(crypto.randomUUID().replace(/-/g, '').toUpperCase())
      .sign(this.key);
  }

  async http(method: string, path: string, body?: unknown, auth = true): Promise<AgentResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': String(process.hrtime.bigint()) };
    if (auth) headers.authorization = `Bearer ${await this.token()}`;
    const res = await fetch(this.controllerUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed };
  }

  /** 200 with a JSON object or 204 is success (§1.1); anything else is a failure. */
  private ok(r: AgentResponse): boolean {
    return r.status === 204 || (r.status === 200 && typeof r.body === 'object' && r.body !== null && !Array.isArray(r.body));
  }

  private async loadMicroservices(): Promise<boolean> {
    const r = await this.http('GET', '/agent/microservices');
    if (!this.ok(r)) return false;
    const next = new Map<string, Record<string, any>>();
    for (const m of r.body.microservices as Array<Record<string, any>>) if (!m.delete) next.set(m.uuid, m);
    this.running.clear();
    for (const [k, v] of next) this.running.set(k, v);
    return true;
  }

  /** The post-provision sequence of §2.2: registries → volume mounts → microservices → PATCH config → PUT status. */
  async boot(): Promise<void> {
    const reg = await this.http('GET', '/agent/registries');
    if (this.ok(reg)) this.registries = reg.body.registries;
    const vm = await this.http('GET', '/agent/volumeMounts');
    if (this.ok(vm)) this.volumeMounts = vm.body.volumeMounts;
    await this.loadMicroservices();
    await this.http('PATCH', '/agent/config', this.localConfig);
    await this.reportStatus();
  }

  statusBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Date.now();
    return {
      daemonStatus: 'RUNNING',
      daemonOperatingDuration: now - this.startedAt,
      daemonLastStart: this.startedAt,
      warningMessage: '',
      memoryUsage: 61.2,
      diskUsage: 0.4,
      cpuUsage: 2.5,
      memoryViolation: false,
      diskViolation: false,
      cpuViolation: false,
      systemAvailableDisk: 41234567168,
      systemAvailableMemory: 6123456512,
      systemTotalCpu: 7.5,
      microserviceStatus: JSON.stringify(
        [...this.running.values()].map((m) => ({ id: m.uuid, status: 'RUNNING', percentage: 100, containerId: `c-${String(m.uuid).slice(0, 8)}`, startTime: this.startedAt, operatingDuration: now - this.startedAt, cpuUsage: '0.8', memoryUsage: '15728640' })),
      ),
      repositoryCount: this.registries.length,
      repositoryStatus: JSON.stringify(this.registries.map((r) => ({ id: r.id, linkStatus: 'OK' }))),
      systemTime: now,
      lastStatusTime: now,
      ipAddress: '10.0.0.21',
      ipAddressExternal: '203.0.113.7',
      microserviceMessageCounts: '[]',
      lastCommandTime: now,
      tunnelStatus: '{}',
      version: '1.0.3',
      isReadyToUpgrade: true,
      isReadyToRollback: false,
      activeVolumeMounts: this.volumeMounts.length,
      volumeMountLastUpdate: 0,
      gpsStatus: 'HEALTHY',
      availableRuntimes: this.opts.runtimes ?? ['runc'],
      ...extra,
    };
  }

  reportStatus(extra: Record<string, unknown> = {}): Promise<AgentResponse> {
    return this.http('PUT', '/agent/status', this.statusBody(extra));
  }

  /**
   * One changes cycle (§3.2, §3.3): poll, act on the set flags in Edgelet's order, acknowledge when
   * every handler succeeded. The first cycle runs in initialization mode.
   */
  async changeCycle(): Promise<CycleRecord> {
    const init = !this.initialized;
    const record: CycleRecord = { flags: [], calls: [], acknowledged: false, initialization: init };
    const poll = await this.http('GET', '/agent/config/changes');
    if (!this.ok(poll)) throw new Error(`changes poll failed: ${poll.status} ${JSON.stringify(poll.body)}`);
    const f = poll.body as Record<string, unknown>;
    record.flags = Object.keys(f).filter((k) => f[k] === true);
    let ok = true;
    const call = async (method: string, path: string, body?: unknown) => {
      record.calls.push(`${method} ${path}`);
      const r = await this.http(method, path, body);
      return r;
    };
    for (const step of ORDER) {
      if (step === 'deleteNode' && f.deleteNode && !init) {
        const r = await call('DELETE', '/agent/delete-node');
        this.deleted = this.ok(r);
        this.cycles.push(record);
        return record;
      }
      if (step === 'reboot' && f.reboot && !init) this.rebooted++;
      if (step === 'config' && f.config) {
        const r = init ? await call('PATCH', '/agent/config', this.localConfig) : await call('GET', '/agent/config');
        if (!this.ok(r)) ok = false;
        else if (!init) for (const [k, v] of Object.entries(r.body)) if (this.localConfig[k] !== v) this.localConfig[k] = v;
      }
      if (step === 'version' && f.version && !init) ok = this.ok(await call('GET', '/agent/version')) && ok;
      if (step === 'registries' && f.registries) {
        const r = await call('GET', '/agent/registries');
        if (this.ok(r)) this.registries = r.body.registries;
        else ok = false;
      }
      if (step === 'prune' && f.prune && !init) this.pruned++;
      if (step === 'volumeMounts' && f.volumeMounts) {
        // Errors of this handler are logged and swallowed by Edgelet.
        const r = await call('GET', '/agent/volumeMounts');
        if (this.ok(r)) this.volumeMounts = r.body.volumeMounts;
      }
      if (step === 'microservices' && (f.microserviceList || f.microserviceConfig || init)) {
        record.calls.push('GET /agent/microservices');
        ok = (await this.loadMicroservices()) && ok;
      }
      if (step === 'execSessions' && f.execSessions) ok = this.ok(await call('GET', '/agent/exec/sessions')) && ok;
      if (step === 'tunnel' && f.tunnel && !init) {
        const r = await call('GET', '/agent/tunnel');
        if (!this.ok(r) && r.status !== 404) ok = false;
      }
      if (step === 'logs' && (f.microserviceLogs || f.fogLogs)) ok = this.ok(await call('GET', '/agent/logs/sessions')) && ok;
    }
    if (ok && typeof f.lastUpdated === 'string' && f.lastUpdated !== '') {
      const ack = await call('PATCH', '/agent/config/changes', { lastUpdated: f.lastUpdated });
      record.acknowledged = this.ok(ack);
    }
    if (ok) this.initialized = true;
    this.cycles.push(record);
    return record;
  }
}
