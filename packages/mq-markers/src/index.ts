// @tributary/mq-markers — public API. Named exports only (`export type` for types).

// sending to queues
export type { MessageSender, MessageSenderOptions, QueueMessage, QueueMessageOptions, Payload } from './message-sender';
export { createMessageSender } from './message-sender';

// markers
export type { MarkerProducer, MarkerProducerOptions } from './marker-producer';
export { createMarkerProducer } from './marker-producer';
export type { Marker, MarkerKind, MarkerTarget } from './marker';
export { MARKER_FORMAT_VERSION, MarkerKinds, encodeMarkerKey, decodeMarkerKey, encodeMarkerValue, decodeMarkerValue } from './marker';
export { MqHeaders, redeliveryCountOf } from './headers';

// the queue client
export type { MqClient, MqClientOptions } from './mq-client';
export { createMqClient, MQ_CLIENT_DEFAULTS } from './mq-client';

// redelivery
export type { Redeliverer, RedelivererOptions, RedelivererMetrics } from './redeliverer';
export { createRedeliverer, REDELIVERER_DEFAULTS } from './redeliverer';

// topics, time, errors
export type { QueueTopicsSpec } from './queue-topics';
export { createQueueTopics, defaultMarkersTopic, defaultClientGroup, defaultRedelivererGroup } from './queue-topics';
export type { Clock } from './clock';
export { systemClock } from './clock';
export { isReconnectRequired, isTimeoutError, RECONNECT_PATTERNS, TIMEOUT_PATTERNS } from './error-classifiers';
