/**
 * A MetricsCollector that keeps every call, for asserting what withCollector
 * and withSendCollector reported.
 */
import type { ConsumeObservation, MetricsCollector, PublishObservation } from '@tributary/core';

export interface RecordingCollector extends MetricsCollector {
  readonly consumed: ConsumeObservation[];
  readonly published: PublishObservation[];
}

export function recordingCollector(): RecordingCollector {
  const consumed: ConsumeObservation[] = [];
  const published: PublishObservation[] = [];
  return {
    consumed,
    published,
    recordConsume: (observation) => void consumed.push(observation),
    recordPublish: (observation) => void published.push(observation),
  };
}
