import { buildMessage } from '@tributary/testutil';
import { defaultKeyExtractor } from '../src/key-extractor';

describe('defaultKeyExtractor', () => {
  it('is the record key', () => {
    expect(defaultKeyExtractor(buildMessage({ key: 'order-1' }))).toBe('order-1');
  });

  it('orders keyless records by their partition, apart from keyed records and other partitions', () => {
    const a = defaultKeyExtractor(buildMessage({ topic: 't', partition: 0, key: null }));
    expect(defaultKeyExtractor(buildMessage({ topic: 't', partition: 0, key: null, offset: 9 }))).toBe(a);
    expect(defaultKeyExtractor(buildMessage({ topic: 't', partition: 1, key: null }))).not.toBe(a);
    expect(defaultKeyExtractor(buildMessage({ topic: 'u', partition: 0, key: null }))).not.toBe(a);
    expect(a).not.toBe('t/0');
  });
});
