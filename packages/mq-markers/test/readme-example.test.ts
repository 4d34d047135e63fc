// The example of the README, compiled and run. Between the README markers is
// exactly the snippet the README shows (its top-level awaits run inside the
// test function here); keep the two in step.
// README:start
import { createMessageSender, createMqClient, createQueueTopics, createRedeliverer, redeliveryCountOf } from '@tributary/mq-markers';
import { memory } from '@tributary/memory'; // production: kafka({ brokers }) from @tributary/kafka
// README:pause
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('README example', () => {
  it('redelivers the job that failed and processes it on its second attempt', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // README:resume
      const transport = memory();
      await createQueueTopics(transport, { queue: 'jobs', partitions: 3 }); // jobs, jobs.markers, jobs.dlq

      // Re-sends messages taken but not processed in time. Run one or more per queue, anywhere.
      const redeliverer = createRedeliverer(transport, { queue: 'jobs', checkIntervalMs: 100 });
      await redeliverer.start();

      const sender = createMessageSender(transport);
      await sender.send('jobs', JSON.stringify({ id: 1 }), { key: 'job-1' });
      await sender.send('jobs', JSON.stringify({ id: 2 }), { key: 'job-2' });

      const client = createMqClient(transport, { queue: 'jobs', redeliveryTimeoutMs: 500 });
      for (let handled = 0; handled < 3; ) {
        const msg = await client.nextMessage(1000); // null when nothing came within a second
        if (msg === null) continue;
        handled++;
        const job = JSON.parse(Buffer.from(msg.value!).toString()) as { id: number };
        const attempt = redeliveryCountOf(msg.headers) + 1;
        if (job.id === 2 && attempt === 1) {
          console.log('job 2 failed; it comes back after the redelivery timeout');
          continue; // no end marker
        }
        await client.processingInProgress(msg); // optional: a keep-alive for long work moves the deadline
        console.log(`job ${job.id} done (attempt ${attempt})`);
        await client.processed(msg); // end marker: never redelivered
      }

      await client.close();
      await redeliverer.close();
      await sender.close();
      await transport.close();
      // README:end

      expect(log.mock.calls.map((c) => c[0] as string).sort()).toEqual(
        ['job 1 done (attempt 1)', 'job 2 done (attempt 2)', 'job 2 failed; it comes back after the redelivery timeout'].sort(),
      );
      expect(redeliverer.metrics()).toMatchObject({ redelivered: 1, deadLettered: 0 });
    } finally {
      log.mockRestore();
    }
  });

  it('is the snippet the README shows', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const shown = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const source = readFileSync(__filename, 'utf8');
    const between = (from: string, to: string): string => source.slice(source.indexOf(from) + from.length, source.indexOf(to));
    const dedent = (text: string): string =>
      text
        .split('\n')
        .map((l) => l.replace(/^ {6}/, ''))
        .join('\n')
        .trim();
    const tested = `${between('// README:start\n', '// README:pause').trim()}\n\n${dedent(between('// README:resume\n', '// README:end'))}`;
    expect(shown.replace(/\n\/\/ job [\s\S]*$/, '').trim()).toBe(tested);
  });
});
