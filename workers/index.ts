import type { Job } from '../src/jobs/types';
import { controllerCleanupJob } from './controller-cleanup';
import { controllerHeartbeatJob } from './controller-heartbeat';
import { eventCleanupJob } from './event-cleanup';
import { fogStatusJob } from './fog-status';
import { outboxDrainerJob } from './outbox-drainer';
import { stoppedAppStatusJob } from './stopped-app-status';
import { tokenCleanupJob } from './token-cleanup';
import { wsSessionReconcileJob } from './ws-session-reconcile';
import { certificateRenewalJob } from './certificate-renewal';
import { platformReconcileWorkerJob } from './platform-reconcile-worker';
import { fogPlatformSweepJob } from './fog-platform-sweep';

/** Every background job. The Workers entry dispatches `scheduled()` events against this same list. */
export const jobs: Job[] = [
  tokenCleanupJob,
  fogStatusJob,
  stoppedAppStatusJob,
  outboxDrainerJob,
  eventCleanupJob,
  controllerHeartbeatJob,
  controllerCleanupJob,
  wsSessionReconcileJob,
  certificateRenewalJob,
  platformReconcileWorkerJob,
  fogPlatformSweepJob,
];
