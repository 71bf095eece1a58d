import { metrics as otel, type Counter, type Histogram } from '@opentelemetry/api';

/** Telemetry through @opentelemetry/api: a no-op unless the host registers an SDK. */
export interface Metrics {
  httpRequests: Counter;
  httpDuration: Histogram;
  jobRuns: Counter;
}

export function createMetrics(): Metrics {
  const meter = otel.getMeter('controller');
  return {
    httpRequests: meter.createCounter('controller.http.requests', { description: 'HTTP requests by route and status class' }),
    httpDuration: meter.createHistogram('controller.http.duration', { description: 'HTTP request duration', unit: 'ms' }),
    jobRuns: meter.createCounter('controller.job.runs', { description: 'Background job ticks by job and result' }),
  };
}
