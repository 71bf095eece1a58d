import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { processFogTasks } from '../../src/services/platform/fog-platform';
import { processServiceTasks } from '../../src/services/platform/services';
import { AgentSigner } from '../harness/agent-token';

test('services: a microservice on one fog is bridged — connector on its router, listeners on the default bridge and the tagged fogs; validation; update and delete reach the routers', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    const mk = async (body: Record<string, unknown>) => {
      const r = await call('POST', '/api/v3/iofog', body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.uuid as string;
    };
    const hub = await mk({
      name: 'hub',
      archId: 1,
      isSystem: true,
      routerMode: 'interior',
      host: 'hub.example',
      interRouterPort: 55671,
      edgeRouterPort: 45671,
    });
    const a = await mk({ name: 'fog-a', archId: 1, routerMode: 'edge', host: 'a.example' });
    const b = await mk({ name: 'fog-b', archId: 1, routerMode: 'edge', host: 'b.example', tags: ['service.iofog.org/tag: shop'] });
    await mk({ name: 'fog-n', archId: 1, routerMode: 'none' });
    // A fog tagged `all` carries every service (v3.8 service distribution), whatever the services' tags.
    const everything = await mk({
      name: 'fog-all',
      archId: 1,
      routerMode: 'edge',
      host: 'all.example',
      tags: ['service.iofog.org/tag: all'],
    });
    const app = await call('POST', '/api/v3/application', {
      name: 'shop',
      isActivated: true,
      microservices: [
        { name: 'api', agentName: 'fog-a', images: [{ containerImage: 'acme/api', archId: 1 }] },
        { name: 'hostapp', agentName: 'fog-a', hostNetworkMode: true, images: [{ containerImage: 'acme/h', archId: 1 }] },
        { name: 'lonely', agentName: 'fog-n', images: [{ containerImage: 'acme/l', archId: 1 }] },
      ],
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const msUuid = (await call('GET', '/api/v3/application/shop')).body.microservices.find((m: { name: string }) => m.name === 'api').uuid;

    const created = await call('POST', '/api/v3/services', {
      name: 'shop-api',
      type: 'microservice',
      resource: 'shop/api',
      targetPort: 8080,
      tags: ['shop'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.provisioningStatus, 'pending');
    assert.equal(created.body.bridgePort, 10024);
    assert.equal(created.body.defaultBridge, 'default-router');
    // Outside Kubernetes consumers reach it on the bridge router: its host and the bridge port (v3.8).
    assert.equal(created.body.serviceEndpoint, 'hub.example');
    assert.equal(created.body.servicePort, 10024);

    // Validation.
    const bad = async (body: Record<string, unknown>, code: number, message: RegExp) => {
      const r = await call('POST', '/api/v3/services', body);
      assert.equal(r.status, code, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    };
    await bad({ name: 'router', type: 'external', resource: 'x', targetPort: 1 }, 400, /^name: router is reserved/);
    await bad({ name: 'lonely', type: 'microservice', resource: 'shop/lonely', targetPort: 1 }, 400, /SERVICE_REQUIRES_ROUTER/);
    await bad(
      { name: 'ghost', type: 'microservice', resource: 'shop/ghost', targetPort: 1 },
      400,
      /^resource: no microservice shop\/ghost/,
    );
    await bad({ name: 'k', type: 'external', resource: 'x', targetPort: 1, k8sType: 'NodePort' }, 400, /^k8sType: /);
    await bad(
      { name: 'ext', type: 'external', resource: 'x', targetPort: 1, defaultBridge: 'fog-a' },
      400,
      /^defaultBridge: must be default-router/,
    );
    await bad({ name: 'shop-api', type: 'external', resource: 'x', targetPort: 1 }, 409, /already exists/);
    await bad({ name: 'Bad_Name', type: 'external', resource: 'x', targetPort: 1 }, 400, /^name: /);
    await bad({ name: 'p', type: 'external', resource: 'x', targetPort: 70000 }, 400, /^targetPort: /);

    const ext = await call('POST', '/api/v3/services', { name: 'historian', type: 'external', resource: '10.0.0.40', targetPort: 5432 });
    assert.equal(ext.body.bridgePort, 10025, 'bridge ports are unique');
    const agentSvc = await t.upload(
      'POST',
      '/api/v3/services/yaml',
      'service',
      'apiVersion: iofog.org/v3\nkind: Service\nmetadata: { name: hub-ssh, tags: [] }\nspec: { type: agent, resource: hub, targetPort: 22 }\n',
      admin,
    );
    assert.equal(agentSvc.status, 201, JSON.stringify(agentSvc.body));

    assert.deepEqual((await processServiceTasks(t.ctx, 10)).failed, []);
    assert.equal((await call('GET', '/api/v3/services/shop-api')).body.provisioningStatus, 'ready');
    await processFogTasks(t.ctx, 20);
    const routerConfig = async (fogUuid: string) => {
      const ms = (await call('GET', '/api/v3/microservices/system')).body.microservices.find(
        (m: { isRouter: boolean; iofogUuid: string }) => m.isRouter && m.iofogUuid === fogUuid,
      );
      return JSON.parse(typeof ms.config === 'string' ? ms.config : JSON.stringify(ms.config));
    };
    const cfgA = await routerConfig(a);
    assert.deepEqual(cfgA.bridges.tcpConnectors, {
      'shop-api-connector': { name: 'shop-api-connector', host: 'shop.api', port: '8080', address: 'shop-api', processId: msUuid },
    });
    assert.deepEqual(cfgA.bridges.tcpListeners, {}, 'fog-a is not tagged for the service');
    const cfgB = await routerConfig(b);
    assert.deepEqual(cfgB.bridges.tcpListeners, { 'shop-api-listener': { name: 'shop-api-listener', port: '10024', address: 'shop-api' } });
    assert.deepEqual(cfgB.bridges.tcpConnectors, {});
    const cfgHub = await routerConfig(hub);
    assert.deepEqual(Object.keys(cfgHub.bridges.tcpListeners).sort(), ['historian-listener', 'hub-ssh-listener', 'shop-api-listener']);
    assert.deepEqual(cfgHub.bridges.tcpConnectors['historian-connector'], {
      name: 'historian-connector',
      host: '10.0.0.40',
      port: '5432',
      address: 'historian',
      processId: '10.0.0.40-external-5432',
    });
    assert.deepEqual(
      Object.keys((await routerConfig(everything)).bridges.tcpListeners).sort(),
      ['historian-listener', 'hub-ssh-listener', 'shop-api-listener'],
      'the fog tagged all carries every service',
    );
    assert.deepEqual(
      cfgHub.bridges.tcpConnectors['hub-ssh-connector'],
      { name: 'hub-ssh-connector', host: '127.0.0.1', port: '22', address: 'hub-ssh', processId: 'hub-local-22' },
      'interior router: 127.0.0.1',
    );

    // The default router: GET/PUT /router; a change reaches every router that connects to it, and each
    // affected agent hears of it as v3.8 tells it: routerChanged with microserviceList and microserviceConfig.
    const agentOf = async (uuid: string) => {
      const key = await call('GET', `/api/v3/iofog/${uuid}/provisioning-key`);
      const agent = await AgentSigner.fromProvision(
        (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
      );
      const changes = async () => (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
      const ack = async () =>
        t.call('PATCH', '/api/v3/agent/config/changes', {
          token: await agent.token(),
          body: { lastUpdated: (await changes()).lastUpdated },
        });
      await ack();
      return { changes, ack };
    };
    const routerFlags = (c: Record<string, unknown>) => ({
      routerChanged: c.routerChanged,
      microserviceList: c.microserviceList,
      microserviceConfig: c.microserviceConfig,
    });
    const hubAgent = await agentOf(hub);
    const aAgent = await agentOf(a);
    assert.deepEqual(routerFlags(await hubAgent.changes()), { routerChanged: false, microserviceList: false, microserviceConfig: false });
    assert.deepEqual((await call('GET', '/api/v3/router')).body, {
      host: 'hub.example',
      messagingPort: 5671,
      edgeRouterPort: 45671,
      interRouterPort: 55671,
    });
    const moved = await call('PUT', '/api/v3/router', { host: 'hub2.example', edgeRouterPort: 45999 });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(moved.body, { host: 'hub2.example', messagingPort: 5671, edgeRouterPort: 45999, interRouterPort: 55671 });
    assert.deepEqual(
      routerFlags(await hubAgent.changes()),
      { routerChanged: true, microserviceList: true, microserviceConfig: true },
      'the default router fog, at once',
    );
    assert.equal((await call('PUT', '/api/v3/router', { host: 'x', edgeRouterPort: 0 })).status, 400);
    assert.equal((await call('PUT', '/api/v3/router', { edgeRouterPort: 1000 })).status, 400, 'host is required');
    await processFogTasks(t.ctx, 20);
    assert.deepEqual((await routerConfig(a)).connectors['default-router'], {
      name: 'default-router',
      role: 'edge',
      host: 'hub2.example',
      port: '45999',
      sslProfile: 'router-site-server-fog-a',
    });
    assert.equal((await routerConfig(hub)).listeners[`${hub}-edge`].port, 45999);
    assert.deepEqual(
      routerFlags(await aAgent.changes()),
      { routerChanged: true, microserviceList: true, microserviceConfig: true },
      'a router connecting to it, once re-linked',
    );
    // A fog's own upstreamRouters change is a router change for its agent too.
    await aAgent.ack();
    assert.equal((await call('PATCH', `/api/v3/iofog/${a}`, { upstreamRouters: [hub] })).status, 204);
    assert.deepEqual(routerFlags(await aAgent.changes()), { routerChanged: true, microserviceList: true, microserviceConfig: true });
    assert.equal((await call('PATCH', `/api/v3/iofog/${a}`, { upstreamRouters: [] })).status, 204);
    await processFogTasks(t.ctx, 20);

    // A host-network microservice is reached through the agent's bridge name.
    await call('PATCH', '/api/v3/services/shop-api', { resource: 'shop/hostapp', tags: [] });
    assert.equal((await call('GET', '/api/v3/services/shop-api')).body.provisioningStatus, 'pending');
    await processServiceTasks(t.ctx, 10);
    await processFogTasks(t.ctx, 20);
    assert.equal((await routerConfig(a)).bridges.tcpConnectors['shop-api-connector'].host, 'edgelet.default.svc.bridge.local');
    assert.deepEqual((await routerConfig(b)).bridges.tcpListeners, {}, 'the untagged service left fog-b');

    // Delete: the connector goes from fog-a's router.
    assert.equal((await call('DELETE', '/api/v3/services/shop-api')).status, 204);
    assert.equal((await call('GET', '/api/v3/services/shop-api')).status, 404);
    await processServiceTasks(t.ctx, 10);
    await processFogTasks(t.ctx, 20);
    assert.deepEqual((await routerConfig(a)).bridges.tcpConnectors, {});
    assert.deepEqual(
      (await call('GET', '/api/v3/services')).body.map((s: { name: string }) => s.name),
      ['historian', 'hub-ssh'],
    );
    assert.equal((await call('POST', '/api/v3/services/historian/reconcile')).body.provisioningStatus, 'pending');
    assert.equal((await call('POST', '/api/v3/services/nope/reconcile')).status, 404);
  } finally {
    await t.close();
  }
});
