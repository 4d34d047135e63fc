// @tributary/testutil — public API. Named exports only (`export type` for types).

// unique names
export { uniqueName, uniqueTopic, uniqueGroup } from './names';

// waiting
export type { WaitForOptions } from './wait';
export { waitFor, waitForValue, waitForCount, waitForAssertion, withTimeout, WaitTimeoutError, WAIT_DEFAULTS } from './wait';
export type { Deferred } from './deferred';
export { deferred } from './deferred';

// builders
export type { MessageOverrides, BatchOverrides } from './records';
export { buildMessage, buildMessages, buildRecord, buildRecords, buildBatch, messageOf, textOf, DEFAULT_TEST_TOPIC } from './records';
export type { EventOverrides, EventRecordOptions, EventMessageOptions } from './events';
export { buildEvent, buildEventRecord, buildEventMessage } from './events';

// mocks and recorders
export type { MockProducerOptions, ProducedRecord, FailedProduce, RecordFailure } from './mock-producer';
export { MockProducer } from './mock-producer';
export type { MockConsumerOptions } from './mock-consumer';
export { MockConsumer } from './mock-consumer';
export type { MessageRecorderOptions, RecordedCall } from './message-recorder';
export { MessageRecorder } from './message-recorder';
export type { ConsumerRecorderOptions, ConsumerEvent } from './consumer-recorder';
export { ConsumerRecorder } from './consumer-recorder';
export type { OrderCheckOptions } from './order';
export { orderViolationsPerKey, orderViolationsPerPartition } from './order';
export { assertNoViolations } from './violations';

// transports a test steers
export { wrapTransport, wrapGroupConsumer } from './wrap-transport';
export type { DrivenTransport } from './driven-transport';
export { drivenTransport } from './driven-transport';

// conformance suite (section: conformance)
export type { TransportConformanceOptions } from './conformance/options';
export type { ConformanceTestInfo } from './conformance/suite';
export { runTransportConformance, selectConformanceTests, listConformanceTests } from './conformance/suite';
