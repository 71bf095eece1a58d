// Two Controller processes (the built bundle) on one PostgreSQL database: what one instance writes,
// the other serves — an agent provisioned through instance A authenticates and polls through
// instance B, and the change flags an operator raises on A reach the agent polling B.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Edgelet } from '../harness/edgelet';
import { ADMIN, startController, type Controller } from '../harness/process';
import { emptyPgDatabase } from '../harness/postgres';
import { waitFor } from '../harness/wait';

test('an agent provisioned through instance A polls through instance B (same PostgreSQL database)', { timeout: 120_000 }, async () => {
  const db = await emptyPgDatabase();
  // Every instance of one installation shares the database and therefore the encryption key.
  const env = { DB_URL: db.url, ENCRYPTION_KEY: randomBytes(32).toString('base64'), JOBS_ENABLED: 'false' };
  const started: Controller[] = [];
  try {
    const a = await startController({ env });
    started.push(a);
    const b = await startController({ env });
    started.push(b);
    const api = async (ctl: Controller, method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
      const res = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const admin = (await api(a, 'POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken;
    const fog = await api(a, 'POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-ab', archId: 0, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(fog.status, 201, JSON.stringify(fog.body));
    const uuid = fog.body.uuid as string;
    const key = await api(a, 'GET', `/api/v3/iofog/${uuid}/provisioning-key`, { token: admin });

    const viaA = new Edgelet(`${a.url}/api/v3`, { archId: 2 });
    assert.equal((await viaA.provision(key.body.key)).status, 200);
    // The same agent (same credentials) now talks to B only: B verifies its token from the key A stored.
    const viaB = new Edgelet(`${b.url}/api/v3`, { archId: 2 });
    await viaB.loadCredentials({ uuid: viaA.uuid, privateKey: viaA.privateKeyB64 });
    try {
      await viaB.boot();
      const init = await viaB.changeCycle();
      assert.equal(init.ok, true, JSON.stringify(init.errors));
      assert.equal(init.initialization, true);
      assert.equal(
        (await api(a, 'GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus,
        'RUNNING',
        'A sees the status B stored',
      );

      // An operator command on A: the agent polling B sees the flag (B learns of A's raise within its refresh).
      assert.equal((await api(a, 'POST', `/api/v3/iofog/${uuid}/reboot`, { token: admin })).status, 204);
      const flags = await waitFor('the reboot flag on B', async () => {
        const r = await viaB.pollChanges();
        return r.status === 200 && r.body.reboot === true ? r.body : undefined;
      });
      assert.equal(flags.reboot, true);
      const cycle = await viaB.changeCycle();
      assert.ok(cycle.flags.includes('reboot'), JSON.stringify(cycle));
      assert.equal(viaB.rebooted, 1);
      // Acknowledged on B: A no longer has it pending either.
      await waitFor('the acknowledgement on A', async () => {
        const r = await viaA.pollChanges();
        return r.status === 200 && r.body.reboot === false;
      });
      // And the other way round: the agent's calls to A keep working next to those to B.
      assert.equal((await viaA.getConfig()).status, 200);
    } finally {
      viaA.close();
      viaB.close();
    }
  } finally {
    for (const c of started) await c.stop('SIGKILL');
    await db.drop();
  }
});
