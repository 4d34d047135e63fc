// The proofs on the memory transport (the same scenarios run on Kafka in test/kafka/proof.test.ts).
import { memory } from '@tributary/memory';
import type { Transport } from '@tributary/core';
import { describeProofs } from './support/proof-scenarios';

let transport: Transport;
beforeAll(() => {
  transport = memory();
});
afterAll(async () => {
  await transport.close();
});

describeProofs('memory', () => transport, { checkIntervalMs: 10, waitMs: 5_000, quietMs: 50 });
