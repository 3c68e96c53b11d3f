/**
 * Every size and count limit of the pipeline, in one place. docs/API.md ("Limits") and
 * docs/ARCHITECTURE.md quote these names; change them here and there together.
 */
export const LIMITS = {
  /** Largest serialized CloudEvent (UTF-8 JSON bytes). Well under Pub/Sub's 10 MB message cap and
   * BigQuery's 10 MB row cap, and small enough that a 500-row batch stays far below 9 MB requests. */
  maxEventBytes: 256 * 1024,
  /** Most events in one POST. */
  maxEventsPerRequest: 1000,
  /** Largest request body (bytes, before parsing). */
  maxRequestBytes: 5 * 1024 * 1024,
  /** Deepest JSON nesting accepted in a request body; guards the parser and serializer stacks. */
  maxJsonDepth: 64,
  /** Longest value of any string attribute (id, source, type, subject, extensions, ...), in UTF-8
   * bytes: Pub/Sub attribute values (which carry ce-id, ce-source, ce-type) are capped at 1024 bytes. */
  maxAttributeBytes: 1024,
  /** Most extension attributes on one event. */
  maxExtensions: 50,
  /** Extension attribute names: lower-case a-z and 0-9 (CloudEvents 1.0), 1..64 characters. The
   * spec says names SHOULD NOT exceed 20 characters; longer ones are accepted as senders use them. */
  maxExtensionNameLength: 64,
  extensionNamePattern: /^[a-z0-9]{1,64}$/,
  /** Query API page size: default and maximum. */
  defaultPageSize: 100,
  maxPageSize: 1000,
  /** A streamed export reads the store in chunks of about exportChunkBytes of output, at most
   * exportChunkRows rows (the first chunk: exportFirstChunkRows), and holds two chunks at most. */
  exportChunkRows: 1000,
  exportFirstChunkRows: 100,
  exportChunkBytes: 4 * 1024 * 1024,
  /** An export whose reader takes nothing for this long is cut (milliseconds). */
  exportStallMs: 60_000,
  /** Most buckets one stats request may produce ((to - from) / interval). */
  maxStatsBuckets: 10_000,
} as const;
