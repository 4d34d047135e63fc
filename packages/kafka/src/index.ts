// @tributary/kafka — public API. Named exports only (`export type` for types).
// No type of @confluentinc/kafka-javascript appears here (the client is an implementation detail).

// transport
export { kafka } from './transport';
export type { KafkaTransport } from './transport';

// options
export { KAFKA_DEFAULTS } from './options';
export type {
  KafkaConfig,
  KafkaConsumerSettings,
  KafkaProducerSettings,
  KafkaRdKafkaOptions,
  KafkaSaslOptions,
  RdKafkaProperties,
  RdKafkaValue,
} from './options';

// clients
export type { KafkaTransportProducer, KafkaProducerMetrics } from './producer';
export type { KafkaGroupConsumer, KafkaConsumerMetrics } from './group-consumer';

// errors
export { KAFKA_ERROR_TABLE } from './errors';
export type { KafkaErrorMapping, MappedCode } from './errors';
export { librdkafkaVersion } from './native';
