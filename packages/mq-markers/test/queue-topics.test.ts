import type { Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { createQueueTopics, defaultClientGroup, defaultMarkersTopic, defaultRedelivererGroup } from '@tributary/mq-markers';
import { uniqueTopic } from '@tributary/testutil';
import { checkQueueTopics } from '../src/queue-topics';

let transport: Transport;
beforeEach(() => {
  transport = memory();
});
afterEach(async () => {
  await transport.close();
});

async function partitionsOf(topic: string): Promise<number> {
  return (await transport.admin().fetchTopicOffsets(topic)).length;
}

describe('queue topics', () => {
  it('default names', () => {
    expect(defaultMarkersTopic('orders')).toBe('orders.markers');
    expect(defaultClientGroup('orders')).toBe('orders.mq');
    expect(defaultRedelivererGroup('orders.markers')).toBe('orders.markers.redeliverer');
  });

  it('createQueueTopics creates the queue, its markers and its DLQ with the same partitions, and is idempotent', async () => {
    const queue = uniqueTopic('q');
    await createQueueTopics(transport, { queue, partitions: 4 });
    await createQueueTopics(transport, { queue, partitions: 4 });
    expect(await partitionsOf(queue)).toBe(4);
    expect(await partitionsOf(`${queue}.markers`)).toBe(4);
    expect(await partitionsOf(`${queue}.dlq`)).toBe(4);
  });

  it('createQueueTopics honours a markers topic name and no DLQ', async () => {
    const queue = uniqueTopic('q');
    await createQueueTopics(transport, { queue, markersTopic: `${queue}-m`, deadLetterTopic: false });
    const topics = await transport.admin().listTopics();
    expect(topics.filter((t) => t.startsWith(queue)).sort()).toEqual([queue, `${queue}-m`]);
  });

  it('checkQueueTopics refuses a markers topic with fewer partitions than the queue', async () => {
    const queue = uniqueTopic('q');
    await transport.admin().createTopics([{ topic: queue, partitions: 3 }, { topic: `${queue}.markers`, partitions: 2 }]);
    await expect(checkQueueTopics(transport, queue, `${queue}.markers`, 'MqClient')).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      problems: [{ field: 'markersTopic' }],
    });
    await expect(checkQueueTopics(transport, queue, 'missing', 'MqClient')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
  });
});
