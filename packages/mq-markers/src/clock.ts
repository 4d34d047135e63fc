/**
 * Wall-clock time in epoch milliseconds. Redelivery deadlines are absolute
 * times on this clock: the client that writes a start marker and the
 * redeliverer that reads it must agree on it (within the skew you can afford
 * against the redelivery timeout). Inject a fake in tests to move time at will.
 */
export type Clock = () => number;

/** `Date.now`. */
export const systemClock: Clock = () => Date.now();
