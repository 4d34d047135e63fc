/**
 * Headers the queue protocol adds to records of the queue topic. Values are
 * decimal strings, like every Tributary header.
 */
export const MqHeaders = {
  /**
   * How many times the redeliverer has re-sent this message (absent on the
   * first delivery). A redelivered copy carries `n + 1` of the copy it was
   * made from; at `maxRedeliveries` the next expiry sends it to the dead-letter
   * topic instead.
   */
  redeliveryCount: 'tributary-mq-redelivery-count',
} as const;

/** The redelivery count of a queue message: 0 when the header is absent or not a non-negative integer. */
export function redeliveryCountOf(headers: Readonly<Record<string, string>>): number {
  const raw = headers[MqHeaders.redeliveryCount];
  if (raw === undefined) return 0;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
