import { metrics as otel, type Counter, type Histogram, type UpDownCounter } from '@opentelemetry/api';

/** Telemetry through @opentelemetry/api: a no-op unless the host registers an SDK. */
export interface Metrics {
  httpRequests: Counter;
  httpDuration: Histogram;
  jobRuns: Counter;
  /** Exec/log WebSocket sessions, meter `iofog-controller-ws`. */
  ws: {
    execActive: UpDownCounter;
    logActive: UpDownCounter;
    pending: UpDownCounter;
    pairingMs: Histogram;
    relayErrors: Counter;
    logLinesDropped: Counter;
  };
}

export function createMetrics(): Metrics {
  const meter = otel.getMeter('controller');
  return {
    httpRequests: meter.createCounter('controller.http.requests', { description: 'HTTP requests by route and status class' }),
    httpDuration: meter.createHistogram('controller.http.duration', { description: 'HTTP request duration', unit: 'ms' }),
    jobRuns: meter.createCounter('controller.job.runs', { description: 'Background job ticks by job and result' }),
    ws: wsMetrics(),
  };
}

function wsMetrics(): Metrics['ws'] {
  const meter = otel.getMeter('iofog-controller-ws', '1.0.0');
  return {
    execActive: meter.createUpDownCounter('ws_exec_sessions_active', { description: 'Exec sessions on this replica' }),
    logActive: meter.createUpDownCounter('ws_log_sessions_active', { description: 'Log sessions on this replica' }),
    pending: meter.createUpDownCounter('ws_pending_pairings', { description: 'Sessions waiting for the other half' }),
    pairingMs: meter.createHistogram('ws_pairing_duration_ms', { description: 'User connect to pairing', unit: 'ms' }),
    relayErrors: meter.createCounter('ws_amqp_publish_errors', {
      description: 'Relay publish failures (NATS relay; upstream metric name)',
    }),
    logLinesDropped: meter.createCounter('ws_log_lines_dropped', { description: 'Log lines dropped under backpressure' }),
  };
}
