// Jest globalTeardown paired with jest-global-setup.mjs.
// Stops only what this test run started, and only if TRIBUTARY_KEEP_BROKER is
// not set. A tools/ broker also stays up while another live Jest process
// still uses it (see ensureBroker in broker.mjs).
import { STATE_KEY } from './jest-global-setup.mjs';

export default async function globalTeardown() {
  const runs = globalThis[STATE_KEY] ?? [];
  globalThis[STATE_KEY] = [];
  const keep = process.env.TRIBUTARY_KEEP_BROKER;
  for (const run of runs.reverse()) {
    if (!run.startedByUs && run.source !== 'tools') continue;
    if (keep && run.source === 'tools') {
      if (run.startedByUs) {
        process.stderr.write(
          `[tributary-kafka] TRIBUTARY_KEEP_BROKER is set: leaving Kafka at ${run.bootstrap} running (stop it with: node tools/kafka/broker.mjs stop)\n`,
        );
      }
      continue;
    }
    // tools: releases our lease; stops the broker only if a test run started it and nobody else uses it.
    // docker: testcontainers removes the container (TRIBUTARY_KEEP_BROKER can't keep it; use docker compose).
    await run.stop();
  }
}
