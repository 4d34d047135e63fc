// The settings every client in the Kafka benchmark shares, in one place so that
// the adapters, the Java runner and docs/benchmarks.md cannot drift apart.
// Each adapter maps these onto its own option names; where a client has no
// equivalent knob, its adapter says so in `notes` (printed in the report).

/** Producer side: the same durability and batching budget for everybody. */
export const PRODUCER = Object.freeze({
  /** Every replica in the ISR must have the batch (acks=all / -1). */
  acks: -1,
  /** Idempotent producer wherever the client has one. */
  idempotent: true,
  /**
   * How long a client-side batch may wait for more records: Tributary's
   * default (1 ms), given to every client that has the knob so the raw
   * clients are measured as configured as Tributary configures librdkafka
   * (librdkafka's and Java's own default is 5 ms). KafkaJS and
   * @platformatic/kafka have no linger (one send() call = one request).
   */
  lingerMs: 1,
  /** Bytes per partition batch: librdkafka's default (Java's is 16 KiB; raised to match). */
  batchBytes: 1_000_000,
  compression: 'none',
});

/** Consumer side. */
export const CONSUMER = Object.freeze({
  /** Most records handed to the application at once, where the client lets us choose (Tributary's default). */
  maxBatchRecords: 500,
  /** No commits during the measurement: every client reads a fresh group from the beginning. */
  autoCommit: false,
  /**
   * librdkafka's fetch.queue.backoff.ms, as Tributary sets it (librdkafka's
   * 1 s default idles the fetcher whenever its local queue is full); given to
   * the raw ckjs consumers too.
   */
  fetchQueueBackoffMs: 10,
});

/** How the application drives the batched produce phase (Node clients). */
export const DRIVER = Object.freeze({
  /** Records per send() call. */
  chunkRecords: 1000,
  /** send() calls in flight at once (each awaited; a new one starts when one resolves). */
  inflightChunks: 4,
});

/** Header carrying the send time (performance.now(), ms with µs decimals) for the latency phases. */
export const TIMESTAMP_HEADER = 'bench-ts';
