import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, USER_PASSWORD, CHANGED_PASSWORD, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { ManualClock } from '../../src/lib/clock';

/** A user in `group` (password already changed) — returns the email and a fresh token function. */
async function member(t: TestApp, admin: string, email: string, group: string) {
  const created = await t.call('POST', '/api/v3/users', { token: admin, body: { email, password: USER_PASSWORD, groups: [group] } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const first = await t.login(email, USER_PASSWORD);
  await t.call('POST', '/api/v3/user/change-password', {
    token: first.accessToken,
    body: { currentPassword: USER_PASSWORD, newPassword: CHANGED_PASSWORD },
  });
  return async () => (await t.login(email, CHANGED_PASSWORD)).accessToken;
}

test('roles: system roles listed and protected; custom roles CRUD with validation, YAML and references', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const list = await t.call('GET', '/api/v3/roles', { token: developer });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.filter((r: any) => r.isSystem).map((r: any) => r.name),
      ['admin', 'sre', 'developer', 'viewer', 'agent-admin', 'microservice'],
    );
    assert.equal(list.body[0].apiVersion, 'datasance.com/v3');

    const body = { name: 'fog-reader', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['get', 'list'] }] };
    assert.equal(
      (await t.call('POST', '/api/v3/roles', { token: developer, body })).status,
      403,
      'developers read roles, they do not write them',
    );
    const created = await t.call('POST', '/api/v3/roles', { token: admin, body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.kind, 'Role');
    assert.deepEqual(created.body.rules, [{ apiGroups: [''], resources: ['fogs'], verbs: ['get', 'list'], resourceNames: [] }]);
    assert.equal((await t.call('POST', '/api/v3/roles', { token: admin, body })).status, 409);
    assert.equal((await t.call('POST', '/api/v3/roles', { token: admin, body: { ...body, name: 'viewer' } })).status, 409);
    assert.equal((await t.call('GET', '/api/v3/roles/fog-reader', { token: admin })).body.name, 'fog-reader');
    assert.equal((await t.call('GET', '/api/v3/roles/admin', { token: admin })).body.isSystem, true);
    assert.equal((await t.call('GET', '/api/v3/roles/nope', { token: admin })).status, 404);

    for (const [bad, field] of [
      [{ name: 'Bad_Name', rules: body.rules }, 'name'],
      [{ name: 'r1', rules: [] }, 'rules'],
      [{ name: 'r1', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['destroy'] }] }, 'rules.0.verbs.0'],
      [
        { name: 'r1', rules: [{ apiGroups: [''], resources: ['fogz'], verbs: ['get'] }] },
        'rules\\[0\\]\\.resources\\[0\\]: unknown resource fogz',
      ],
      [{ name: 'r1', rules: body.rules, extra: 1 }, 'extra'],
    ] as const) {
      const r = await t.call('POST', '/api/v3/roles', { token: admin, body: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match(r.body.message, new RegExp(field), r.body.message);
    }
    // Edgelet API groups may name their own resources.
    assert.equal(
      (
        await t.call('POST', '/api/v3/roles', {
          token: admin,
          body: { name: 'ms-gps', rules: [{ apiGroups: ['edgelet.iofog.org/v1'], resources: ['system/gps'], verbs: ['get'] }] },
        })
      ).status,
      201,
    );

    const patched = await t.call('PATCH', '/api/v3/roles/fog-reader', {
      token: admin,
      body: { rules: [{ apiGroups: [''], resources: ['fogs', 'applications'], verbs: ['get'] }] },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.rules[0].resources, ['fogs', 'applications']);
    assert.equal((await t.call('PATCH', '/api/v3/roles/viewer', { token: admin, body: { rules: body.rules } })).status, 403);
    assert.equal((await t.call('DELETE', '/api/v3/roles/admin', { token: admin })).status, 403);
    assert.equal(
      (await t.call('PATCH', '/api/v3/roles/fog-reader', { token: admin, body: { name: 'renamed', rules: body.rules } })).status,
      400,
    );

    // YAML: top-level rules; the error names the document path.
    const doc = (name: string, verbs: string) =>
      `apiVersion: iofog.org/v3\nkind: Role\nmetadata: { name: ${name} }\nrules:\n  - { apiGroups: [""], resources: [microservices], verbs: [${verbs}] }\n`;
    const y = await t.upload('POST', '/api/v3/roles/yaml', 'role', doc('line-operator', 'get, patch'), admin);
    assert.equal(y.status, 201, JSON.stringify(y.body));
    const yBad = await t.upload('POST', '/api/v3/roles/yaml', 'role', doc('other', 'get, smash'), admin);
    assert.equal(yBad.status, 400);
    assert.match(yBad.body.message, /^rules\[0\]\.verbs\[1\]: /);
    const yPatch = await t.upload('PATCH', '/api/v3/roles/yaml/line-operator', 'role', doc('line-operator', 'list'), admin);
    assert.equal(yPatch.status, 200);
    assert.deepEqual(yPatch.body.rules[0].verbs, ['list']);
    assert.equal((await t.upload('PATCH', '/api/v3/roles/yaml/line-operator', 'role', doc('someone-else', 'list'), admin)).status, 400);

    // A role in use cannot be deleted.
    assert.equal(
      (
        await t.call('POST', '/api/v3/rolebindings', {
          token: admin,
          body: { name: 'readers', roleRef: { kind: 'Role', name: 'fog-reader' }, subjects: [{ kind: 'Group', name: 'ops' }] },
        })
      ).status,
      201,
    );
    const inUse = await t.call('DELETE', '/api/v3/roles/fog-reader', { token: admin });
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.message, /readers/);
    assert.equal((await t.call('DELETE', '/api/v3/rolebindings/readers', { token: admin })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/roles/fog-reader', { token: admin })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/roles/fog-reader', { token: admin })).status, 404);
  } finally {
    await t.close();
  }
});

test('role bindings grant what the bound role allows, by user or group, honouring resourceNames; removal revokes at once', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewerToken = await member(t, admin, 'maria@acme.example', 'viewer');
    const fogA = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'fog-a', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid;
    const fogB = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'fog-b', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid;

    let v = await viewerToken();
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: v, body: { name: 'fog-c', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      403,
    );
    assert.equal(
      (
        await t.call('POST', '/api/v3/roles', {
          token: admin,
          body: { name: 'fog-maker', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['create'] }] },
        })
      ).status,
      201,
    );
    assert.equal(
      (
        await t.call('POST', '/api/v3/roles', {
          token: admin,
          body: { name: 'fog-a-editor', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['patch'], resourceNames: [fogA] }] },
        })
      ).status,
      201,
    );

    const bad = await t.call('POST', '/api/v3/rolebindings', {
      token: admin,
      body: { name: 'x', roleRef: { kind: 'Role', name: 'missing' }, subjects: [{ kind: 'User', name: 'maria@acme.example' }] },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^roleRef\.name: no role named missing/);
    for (const body of [
      { name: 'x', roleRef: { kind: 'Role', name: 'fog-maker' }, subjects: [] },
      { name: 'x', roleRef: { kind: 'Role', name: 'fog-maker' }, subjects: [{ kind: 'Robot', name: 'r' }] },
      { name: 'x', roleRef: { kind: 'ClusterRole', name: 'fog-maker' }, subjects: [{ kind: 'User', name: 'u' }] },
    ])
      assert.equal((await t.call('POST', '/api/v3/rolebindings', { token: admin, body })).status, 400, JSON.stringify(body));

    const byUser = await t.call('POST', '/api/v3/rolebindings', {
      token: admin,
      body: {
        name: 'maria-makes-fogs',
        roleRef: { kind: 'Role', name: 'fog-maker' },
        subjects: [{ kind: 'User', name: 'Maria@ACME.example' }],
      },
    });
    assert.equal(byUser.status, 201, JSON.stringify(byUser.body));
    assert.equal(
      (
        await t.call('POST', '/api/v3/rolebindings', {
          token: admin,
          body: { name: 'maria-makes-fogs', roleRef: { kind: 'Role', name: 'fog-maker' }, subjects: [{ kind: 'User', name: 'x' }] },
        })
      ).status,
      409,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: v, body: { name: 'fog-c', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
      'the binding applies to the existing token (user names compare without case)',
    );
    // Group subjects match the token's groups, case-insensitively.
    assert.equal(
      (
        await t.call('POST', '/api/v3/rolebindings', {
          token: admin,
          body: { name: 'viewers-edit-a', roleRef: { kind: 'Role', name: 'fog-a-editor' }, subjects: [{ kind: 'Group', name: 'Viewer' }] },
        })
      ).status,
      201,
    );
    assert.ok((await t.call('PATCH', `/api/v3/iofog/${fogA}`, { token: v, body: { description: 'ok' } })).status < 300);
    assert.equal(
      (await t.call('PATCH', `/api/v3/iofog/${fogB}`, { token: v, body: { description: 'no' } })).status,
      403,
      'resourceNames limits the rule to fog A',
    );

    // Replacing subjects and deleting bindings revokes immediately on this instance.
    const moved = await t.call('PATCH', '/api/v3/rolebindings/maria-makes-fogs', {
      token: admin,
      body: { roleRef: { kind: 'Role', name: 'fog-maker' }, subjects: [{ kind: 'User', name: 'someone@else' }] },
    });
    assert.equal(moved.status, 200);
    assert.deepEqual(moved.body.subjects, [{ kind: 'User', name: 'someone@else' }]);
    v = await viewerToken();
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: v, body: { name: 'fog-d', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      403,
    );
    assert.equal((await t.call('DELETE', '/api/v3/rolebindings/viewers-edit-a', { token: admin })).status, 204);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${fogA}`, { token: v, body: { description: 'no' } })).status, 403);

    // YAML binding.
    const y = await t.upload(
      'POST',
      '/api/v3/rolebindings/yaml',
      'rolebinding',
      'apiVersion: iofog.org/v3\nkind: RoleBinding\nmetadata: { name: line-operators }\nroleRef: { kind: Role, name: viewer }\nsubjects: [{ kind: Group, name: plant-a-ops }, { kind: User, name: maria@acme.example }]\n',
      admin,
    );
    assert.equal(y.status, 201, JSON.stringify(y.body));
    const yBad = await t.upload(
      'PATCH',
      '/api/v3/rolebindings/yaml/line-operators',
      'rolebinding',
      'apiVersion: iofog.org/v3\nkind: RoleBinding\nmetadata: { name: line-operators }\nroleRef: { kind: Role, name: viewer }\nsubjects: [{ kind: Team, name: x }]\n',
      admin,
    );
    assert.equal(yBad.status, 400);
    assert.match(yBad.body.message, /^subjects\[0\]\.kind: /);
    assert.equal((await t.call('GET', '/api/v3/rolebindings', { token: v })).body.length, 2, 'viewers can list bindings');
    assert.equal((await t.call('GET', '/api/v3/rolebindings/nope', { token: v })).status, 404);
  } finally {
    await t.close();
  }
});

test('policy changes reach every instance on the same database within a second', async () => {
  const clock = new ManualClock();
  const a = await makeTestApp({ clock });
  const b = await makeTestApp({
    clock,
    env: { DB_URL: a.ctx.config.db.url, ENCRYPTION_KEY: a.ctx.config.encryptionKey! },
  });
  try {
    const admin = (await a.login()).accessToken;
    const viewerA = await member(a, admin, 'ops@acme.example', 'viewer');
    const token = await viewerA();
    const create = (name: string) =>
      b.call('POST', '/api/v3/iofog', { token, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } });
    assert.equal((await create('fog-1')).status, 403, 'instance B has loaded the (empty) policy');
    await a.call('POST', '/api/v3/roles', {
      token: admin,
      body: { name: 'fog-maker', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['create'] }] },
    });
    await a.call('POST', '/api/v3/rolebindings', {
      token: admin,
      body: { name: 'ops', roleRef: { kind: 'Role', name: 'fog-maker' }, subjects: [{ kind: 'User', name: 'ops@acme.example' }] },
    });
    clock.advance(1001);
    assert.equal((await create('fog-2')).status, 201, 'B reloaded after its one-second check interval');
    await a.call('DELETE', '/api/v3/rolebindings/ops', { token: admin });
    clock.advance(1001);
    assert.equal((await create('fog-3')).status, 403);
  } finally {
    await b.close();
    await a.close();
  }
});

test("service accounts: application scoped, role must exist, the microservice's own account cannot be deleted, its fog is told", async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'sa-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
    );
    const changes = async () => (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    const ack = async () => {
      const c = await changes();
      await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c.lastUpdated } });
    };
    const app = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'line',
        isActivated: true,
        microservices: [{ name: 'dash', agentName: 'sa-fog', images: [{ containerImage: 'img', archId: 1 }] }],
      },
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    await ack();

    assert.equal(
      (
        await t.call('POST', '/api/v3/serviceaccounts', {
          token: viewer,
          body: { name: 'reader', applicationName: 'line', roleRef: { kind: 'Role', name: 'viewer' } },
        })
      ).status,
      403,
    );
    assert.equal(
      (
        await t.call('POST', '/api/v3/serviceaccounts', {
          token: developer,
          body: { name: 'reader', applicationName: 'nope', roleRef: { kind: 'Role', name: 'viewer' } },
        })
      ).status,
      404,
    );
    const noRole = await t.call('POST', '/api/v3/serviceaccounts', {
      token: developer,
      body: { name: 'reader', applicationName: 'line', roleRef: { kind: 'Role', name: 'ghost' } },
    });
    assert.equal(noRole.status, 400);
    assert.match(noRole.body.message, /roleRef\.name/);
    const created = await t.call('POST', '/api/v3/serviceaccounts', {
      token: developer,
      body: { name: 'reader', applicationName: 'line', roleRef: { kind: 'Role', name: 'viewer' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.applicationName, 'line');
    assert.equal(
      (
        await t.call('POST', '/api/v3/serviceaccounts', {
          token: developer,
          body: { name: 'reader', applicationName: 'line', roleRef: { kind: 'Role', name: 'viewer' } },
        })
      ).status,
      409,
    );
    assert.equal((await changes()).microserviceList, false, 'an account no microservice uses changes nothing on the fog');

    // Every microservice has its own account (role `microservice`), delivered to its agent with the rules.
    const auto = await t.call('GET', '/api/v3/serviceaccounts/line/dash', { token: viewer });
    assert.equal(auto.status, 200);
    assert.deepEqual(auto.body.roleRef, { kind: 'Role', name: 'microservice', apiGroup: 'edgelet.iofog.org/v1' });
    const delivered = async () =>
      (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices[0].serviceAccount;
    assert.deepEqual(await delivered(), {
      name: 'dash',
      roleRef: { kind: 'Role', name: 'microservice', apiGroup: 'edgelet.iofog.org/v1' },
      rules: [
        {
          apiGroups: ['edgelet.iofog.org/v1'],
          resources: ['microservices/config/self', 'auth/whoami', 'system/gps', 'microservices/control/self'],
          verbs: ['get'],
          resourceNames: [],
        },
      ],
    });
    const again = await t.upload(
      'POST',
      '/api/v3/serviceaccounts/yaml',
      'serviceaccount',
      'apiVersion: iofog.org/v3\nkind: ServiceAccount\nmetadata: { name: dash, applicationName: line }\nroleRef: { kind: Role, name: agent-admin }\n',
      admin,
    );
    assert.equal(again.status, 409);
    const own = await t.upload(
      'PATCH',
      '/api/v3/serviceaccounts/yaml/line/dash',
      'serviceaccount',
      'apiVersion: iofog.org/v3\nkind: ServiceAccount\nmetadata: { name: dash, applicationName: line }\nroleRef: { kind: Role, name: agent-admin }\n',
      admin,
    );
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal((await changes()).microserviceList, true);
    assert.equal((await delivered()).rules[0].resources[0], '*');
    await ack();
    const patched = await t.call('PATCH', '/api/v3/serviceaccounts/line/dash', {
      token: developer,
      body: { roleRef: { kind: 'Role', name: 'microservice' } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.roleRef.name, 'microservice');
    assert.equal((await changes()).microserviceConfig, true);
    const yBad = await t.upload(
      'PATCH',
      '/api/v3/serviceaccounts/yaml/line/dash',
      'serviceaccount',
      'apiVersion: iofog.org/v3\nkind: ServiceAccount\nmetadata: { name: dash, applicationName: other }\nroleRef: { kind: Role, name: microservice }\n',
      admin,
    );
    assert.equal(yBad.status, 400);
    assert.match(yBad.body.message, /^metadata\.applicationName/);
    const yNoRole = await t.upload(
      'POST',
      '/api/v3/serviceaccounts/yaml',
      'serviceaccount',
      'apiVersion: iofog.org/v3\nkind: ServiceAccount\nmetadata: { name: other, applicationName: line }\nroleRef: { kind: Role }\n',
      admin,
    );
    assert.equal(yNoRole.status, 400);
    assert.match(yNoRole.body.message, /^roleRef\.name: /);

    assert.deepEqual(
      (await t.call('GET', '/api/v3/serviceaccounts?applicationName=line', { token: viewer })).body.map((a: any) => a.name),
      ['dash', 'reader'],
    );
    // The microservice names its role itself, too (PATCH /microservices with serviceAccount).
    await ack();
    const msUuid = app.body.id ? (await t.call('GET', '/api/v3/application/line', { token: admin })).body.microservices[0].uuid : undefined;
    const viaMs = await t.call('PATCH', `/api/v3/microservices/${msUuid}`, {
      token: developer,
      body: { serviceAccount: { roleRef: { kind: 'Role', name: 'viewer' } } },
    });
    assert.ok(viaMs.status < 300, JSON.stringify(viaMs.body));
    assert.equal((await changes()).microserviceList, true);
    assert.equal((await delivered()).roleRef.name, 'viewer');
    // A user-supplied serviceAccount-type volume mapping is dropped (the account is system-managed) and is
    // never sent to the agent, which would read an unknown type as a host bind mount.
    const withSaVolume = await t.call('PATCH', `/api/v3/microservices/${msUuid}`, {
      token: developer,
      body: {
        volumeMappings: [
          { hostDestination: 'dash', containerDestination: '/var/run/sa', accessMode: 'ro', type: 'serviceAccount' },
          { hostDestination: '/srv/data', containerDestination: '/data', accessMode: 'rw' },
        ],
      },
    });
    assert.ok(withSaVolume.status < 300, JSON.stringify(withSaVolume.body));
    const stored = await t.call('GET', `/api/v3/microservices/${msUuid}/volume-mapping`, { token: developer });
    assert.deepEqual(stored.body.volumeMappings, [
      { id: 1, hostDestination: '/srv/data', containerDestination: '/data', accessMode: 'rw', type: 'bind' },
    ]);
    const agentMs = (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices[0];
    assert.deepEqual(
      agentMs.volumeMappings.map((v: any) => v.type),
      ['bind'],
    );
    assert.equal(agentMs.serviceAccount.name, 'dash');
    const addSa = await t.call('POST', `/api/v3/microservices/${msUuid}/volume-mapping`, {
      token: developer,
      body: { hostDestination: 'dash', containerDestination: '/sa', accessMode: 'ro', type: 'serviceAccount' },
    });
    assert.equal(addSa.status, 400);
    assert.match(addSa.body.message, /^type: serviceAccount mappings are managed by the Controller/);
    const ghostRole = await t.call('PATCH', `/api/v3/microservices/${msUuid}`, {
      token: developer,
      body: { serviceAccount: { roleRef: { kind: 'Role', name: 'ghost' } } },
    });
    assert.equal(ghostRole.status, 400);
    assert.match(ghostRole.body.message, /^serviceAccount\.roleRef\.name: no role named ghost/);
    assert.deepEqual((await t.call('GET', '/api/v3/serviceaccounts?applicationName=other', { token: viewer })).body, []);
    assert.equal((await t.call('GET', '/api/v3/serviceaccounts/line/reader', { token: viewer })).body.roleRef.name, 'viewer');
    assert.equal((await t.call('GET', '/api/v3/serviceaccounts/line/ghost', { token: viewer })).status, 404);
    const inUse = await t.call('DELETE', '/api/v3/serviceaccounts/line/dash', { token: developer });
    assert.equal(inUse.status, 409);
    assert.equal((await t.call('DELETE', '/api/v3/serviceaccounts/line/reader', { token: developer })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/serviceaccounts/line/reader', { token: developer })).status, 404);
    // A role used by a service account is kept.
    assert.equal(
      (
        await t.call('POST', '/api/v3/roles', {
          token: admin,
          body: { name: 'tiny', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['get'] }] },
        })
      ).status,
      201,
    );
    await t.call('PATCH', '/api/v3/serviceaccounts/line/dash', { token: developer, body: { roleRef: { kind: 'Role', name: 'tiny' } } });
    assert.equal((await t.call('DELETE', '/api/v3/roles/tiny', { token: admin })).status, 409);

    // A microservice removed for good takes its account along.
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'idle-fog', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
    );
    const tmp = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { name: 'tmp', application: 'line', agentName: 'idle-fog', images: [{ containerImage: 'img', archId: 1 }] },
    });
    assert.equal(tmp.status, 201, JSON.stringify(tmp.body));
    assert.equal((await t.call('GET', '/api/v3/serviceaccounts/line/tmp', { token: viewer })).status, 200);
    assert.equal((await t.call('DELETE', `/api/v3/microservices/${tmp.body.uuid}`, { token: developer })).status, 204);
    assert.equal((await t.call('GET', '/api/v3/serviceaccounts/line/tmp', { token: viewer })).status, 404);
  } finally {
    await t.close();
  }
});
