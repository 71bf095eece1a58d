import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { listEvents, purgeEvents } from '../../src/services/events/audit';
import { EventList, EventPurge, EventPurged, EventQuery } from '../../src/services/events/schemas';

const tag = ['Events'];

export { EventRecord } from '../../src/services/events/schemas';

export const listEventsRoute = defineRoute(rbac('events', 'list'), {
  method: 'get',
  path: '/api/v3/events',
  tags: tag,
  summary: 'Query the audit log',
  description:
    'One event per successful mutating operator call and per agent provision/deprovision, written in the same transaction as the change. Newest first. Unknown query parameters are a 400.',
  request: { query: EventQuery },
  responses: { 200: jsonOk('Events', EventList) },
});

export const deleteEventsRoute = defineRoute(rbac('events', 'delete'), {
  method: 'delete',
  path: '/api/v3/events',
  tags: tag,
  summary: 'Purge audit events',
  description: '`days: 0` deletes every event; `N` deletes events older than N days. The purge itself is recorded as a new event.',
  request: { body: jsonBody(EventPurge) },
  responses: {
    200: jsonOk('Purged', EventPurged),
  },
});

export function registerEvents(app: App): void {
  app.openapi(listEventsRoute, async (c) => c.json(await listEvents(c.get('ctx'), c.req.valid('query')), 200));
  app.openapi(deleteEventsRoute, async (c) => c.json(await purgeEvents(c.get('ctx'), c.req.valid('json').days), 200));
}
