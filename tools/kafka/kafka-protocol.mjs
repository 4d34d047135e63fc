// Minimal Kafka wire-protocol client used to tell whether a TCP port is a
// live Kafka broker (ApiVersions) and what the cluster looks like (Metadata).
// Node built-ins only; no Kafka client library needed.
//
// Only what a readiness probe needs is implemented:
//   ApiVersions v0 (every broker answers it, even with UNSUPPORTED_VERSION)
//   Metadata v4..v8 (non-flexible) or v9..v13 (flexible), with no topics.
import net from 'node:net';

const API_METADATA = 3;
const API_API_VERSIONS = 18;
const CLIENT_ID = 'tributary-probe';
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Error raised when a peer speaks something that is not the Kafka protocol. */
export class NotKafkaError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NotKafkaError';
  }
}

/** Parses "host:port" (IPv6 as "[::1]:9092"). */
export function parseHostPort(address) {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(String(address).trim());
  if (!m) throw new Error(`not a host:port address: ${JSON.stringify(address)}`);
  return { host: m[1], port: Number(m[2]) };
}

/**
 * Sends one request and resolves with the response bytes after the
 * correlation id. Rejects with:
 *   code 'ECONNREFUSED' etc. (socket errors, untouched),
 *   code 'ETIMEDOUT' when nothing complete arrived in time (a broker that is
 *     still starting accepts connections before it answers them),
 *   NotKafkaError when the reply cannot be a Kafka response.
 */
export function kafkaRequest({ host, port, apiKey, apiVersion, body, flexibleHeader = false, timeoutMs = 3000 }) {
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  const clientId = Buffer.from(CLIENT_ID, 'utf8');
  const header = Buffer.alloc(8 + 2 + clientId.length + (flexibleHeader ? 1 : 0));
  let o = header.writeInt16BE(apiKey, 0);
  o = header.writeInt16BE(apiVersion, o);
  o = header.writeInt32BE(correlationId, o);
  o = header.writeInt16BE(clientId.length, o);
  o += clientId.copy(header, o);
  if (flexibleHeader) header.writeUInt8(0, o); // empty tagged fields
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length, 0);

  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      const err = new Error(`no Kafka response from ${host}:${port} within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      err.connected = socket.readyState === 'open';
      finish(err);
    }, timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([size, header, body])));
    socket.on('error', (err) => finish(err));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (length < 4 || length > MAX_RESPONSE_BYTES) {
        return finish(new NotKafkaError(`${host}:${port} answered with something that is not a Kafka response (first bytes ${JSON.stringify(received.subarray(0, 16).toString('latin1'))})`));
      }
      if (received.length < 4 + length) return;
      const gotId = received.readInt32BE(4);
      if (gotId !== correlationId) {
        return finish(new NotKafkaError(`${host}:${port} answered with a mismatched correlation id`));
      }
      finish(null, received.subarray(8, 4 + length));
    });
    socket.on('end', () => {
      finish(new NotKafkaError(`${host}:${port} closed the connection without a Kafka response`));
    });
  });
}

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.o = 0;
  }
  need(n) {
    if (this.o + n > this.buf.length) throw new NotKafkaError('truncated Kafka response');
  }
  i8() { this.need(1); return this.buf.readInt8(this.o++); }
  i16() { this.need(2); const v = this.buf.readInt16BE(this.o); this.o += 2; return v; }
  i32() { this.need(4); const v = this.buf.readInt32BE(this.o); this.o += 4; return v; }
  uvarint() {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1);
      const b = this.buf[this.o++];
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value >>> 0;
    }
    throw new NotKafkaError('bad varint in Kafka response');
  }
  bytes(n) { this.need(n); const v = this.buf.subarray(this.o, this.o + n); this.o += n; return v; }
  string() { const n = this.i16(); return n < 0 ? null : this.bytes(n).toString('utf8'); }
  compactString() { const n = this.uvarint() - 1; return n < 0 ? null : this.bytes(n).toString('utf8'); }
  array(fn) { const n = this.i32(); const out = []; for (let i = 0; i < n; i++) out.push(fn()); return out; }
  compactArray(fn) { const n = this.uvarint() - 1; const out = []; for (let i = 0; i < n; i++) out.push(fn()); return out; }
  skipTaggedFields() {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.bytes(this.uvarint());
    }
  }
}

/** ApiVersions v0: which request versions the broker supports. */
export async function apiVersions(host, port, { timeoutMs } = {}) {
  const body = await kafkaRequest({ host, port, apiKey: API_API_VERSIONS, apiVersion: 0, body: Buffer.alloc(0), timeoutMs });
  const r = new Reader(body);
  const errorCode = r.i16();
  const apis = new Map();
  const entries = r.array(() => ({ apiKey: r.i16(), min: r.i16(), max: r.i16() }));
  // Error 35 (UNSUPPORTED_VERSION) still carries the version list.
  if (errorCode !== 0 && errorCode !== 35) throw new NotKafkaError(`ApiVersions failed with error code ${errorCode}`);
  for (const e of entries) {
    if (e.apiKey < 0 || e.min < 0 || e.max < e.min) throw new NotKafkaError('implausible ApiVersions response');
    apis.set(e.apiKey, { min: e.min, max: e.max });
  }
  if (!apis.has(API_METADATA) || !apis.has(API_API_VERSIONS)) {
    throw new NotKafkaError('speaks Kafka but has no Metadata API (a KRaft controller-only listener?)');
  }
  return apis;
}

/** Metadata request for no topics: the broker list, cluster id, controller. */
export async function metadata(host, port, { timeoutMs, versions } = {}) {
  const apis = versions ?? (await apiVersions(host, port, { timeoutMs }));
  const range = apis.get(API_METADATA);
  // Prefer the simple non-flexible v4..v8 encodings; fall back to flexible v9+.
  let version = [4, 5, 6, 7, 8].find((v) => v >= range.min && v <= range.max);
  // v13 only appends a top-level error code after the fields read here.
  if (version === undefined) version = Math.min(range.max, 13);
  if (version < range.min || version < 4) {
    throw new Error(`broker at ${host}:${port} supports Metadata v${range.min}-v${range.max}, probe needs v4+`);
  }
  const flexible = version >= 9;

  let body;
  if (!flexible) {
    // topics: empty array (no topics), allow_auto_topic_creation=false
    // v8 adds include_cluster/topic_authorized_operations booleans.
    body = Buffer.from(version >= 8 ? [0, 0, 0, 0, 0, 0, 0] : [0, 0, 0, 0, 0]);
  } else {
    // topics: compact empty array (1), allow_auto_topic_creation=false,
    // v9/10 include_cluster_authorized_operations=false,
    // include_topic_authorized_operations=false, tagged fields = 0.
    body = Buffer.from(version <= 10 ? [1, 0, 0, 0, 0] : [1, 0, 0, 0]);
  }
  const resp = await kafkaRequest({ host, port, apiKey: API_METADATA, apiVersion: version, body, flexibleHeader: flexible, timeoutMs });
  const r = new Reader(resp);
  if (flexible) r.skipTaggedFields(); // response header v1 tagged fields
  r.i32(); // throttle_time_ms
  const readBroker = () => {
    const b = flexible
      ? { nodeId: r.i32(), host: r.compactString(), port: r.i32(), rack: r.compactString() }
      : { nodeId: r.i32(), host: r.string(), port: r.i32(), rack: r.string() };
    if (flexible) r.skipTaggedFields();
    return b;
  };
  const brokers = flexible ? r.compactArray(readBroker) : r.array(readBroker);
  const clusterId = flexible ? r.compactString() : r.string();
  const controllerId = r.i32();
  return { version, brokers: brokers.sort((a, b) => a.nodeId - b.nodeId), clusterId, controllerId, apis };
}

/**
 * Probes "host:port". Never throws; resolves with one of
 *   { state: 'kafka', brokers, clusterId, controllerId }
 *   { state: 'closed' }        nothing listens (connection refused)
 *   { state: 'silent' }        accepts connections but has not answered (yet)
 *   { state: 'not-kafka', detail }  something else owns the port
 *   { state: 'error', detail }      other socket errors
 */
export async function probeKafka(address, { timeoutMs = 3000 } = {}) {
  const { host, port } = typeof address === 'string' ? parseHostPort(address) : address;
  try {
    const md = await metadata(host, port, { timeoutMs });
    return { state: 'kafka', brokers: md.brokers, clusterId: md.clusterId, controllerId: md.controllerId };
  } catch (err) {
    if (err instanceof NotKafkaError) return { state: 'not-kafka', detail: err.message };
    if (err.code === 'ECONNREFUSED') return { state: 'closed' };
    if (err.code === 'ETIMEDOUT') return err.connected ? { state: 'silent' } : { state: 'error', detail: err.message };
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return { state: 'silent', detail: err.message };
    return { state: 'error', detail: err.message };
  }
}
