import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cjsModule } from '../../src/lib/interop';

test('cjsModule: named exports as they are, a CommonJS chunk through its default export, a missing export named', () => {
  const lib = { wsconnect: () => 1 };
  assert.equal(cjsModule(lib, 'wsconnect'), lib);
  const chunk = { default: lib } as unknown as typeof lib;
  assert.equal(cjsModule(chunk, 'wsconnect'), lib);
  assert.throws(() => cjsModule({ default: {} } as unknown as typeof lib, 'wsconnect'), /no export "wsconnect"/);
});
