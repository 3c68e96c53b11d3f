import { Counter, Gauge, Histogram, type Registry } from '@eventpipe/platform';

export function publisherMetrics(registry: Registry) {
  return {
    schemaViolations: new Counter({
      name: 'eventpipe_schema_violations_total',
      help: "Events whose data did not match their type's schema in warn mode (accepted anyway), by type.",
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    events: new Counter({
      name: 'eventpipe_publisher_events_total',
      help: 'Events received, by outcome: accepted (published), rejected (4xx), throttled (429), failed (bus error), suppressed (202 but not published: an erasure suppresses their subject).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    rejectedRequests: new Counter({
      name: 'eventpipe_publisher_rejected_requests_total',
      help: 'POST /v1/events requests refused by the route, by reason (its problem code: validation-failed, malformed-json, payload-too-large, unauthenticated, rate-limited, too-many-in-flight, unavailable, ...).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: 'eventpipe_publisher_publish_duration_seconds',
      help: 'Time for the bus to accept one request worth of events.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'eventpipe_publisher_in_flight_events',
      help: 'Events handed to the bus and not yet confirmed.',
      registers: [registry],
    }),
    requestBytes: new Histogram({
      name: 'eventpipe_publisher_request_bytes',
      help: 'Size of accepted request bodies.',
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 5242880],
      registers: [registry],
    }),
  };
}
export type PublisherMetrics = ReturnType<typeof publisherMetrics>;
