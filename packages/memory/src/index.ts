// @tributary/memory — public API. Named exports only (`export type` for types).

export { memory } from './transport';
export type { MemoryTransport } from './transport';
export { MemoryBroker } from './broker';
export type { MemoryBrokerOptions, MemoryTransportOptions } from './options';
export { DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_REBALANCE_TIMEOUT_MS, DEFAULT_CLOSE_TIMEOUT_MS } from './options';
