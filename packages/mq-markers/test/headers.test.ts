import { MqHeaders, redeliveryCountOf } from '@tributary/mq-markers';

describe('redeliveryCountOf', () => {
  it('reads the redelivery count header', () => {
    expect(redeliveryCountOf({ [MqHeaders.redeliveryCount]: '3' })).toBe(3);
  });

  it('is 0 for a first delivery or a malformed header', () => {
    expect(redeliveryCountOf({})).toBe(0);
    for (const bad of ['', 'x', '-1', '1.5']) expect(redeliveryCountOf({ [MqHeaders.redeliveryCount]: bad })).toBe(0);
  });
});
