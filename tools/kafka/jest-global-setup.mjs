// Jest globalSetup: find or start a Kafka broker for the tests and export its
// address to the test workers as process.env.KAFKA_BROKERS.
//
//   // jest.config.js of a package
//   globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
//   globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
//   // optional, for tests on a 3-broker cluster (RF 3, min ISR 2):
//   globals: { tributaryKafka: { brokers: 3 } },
//   // for fault tests that stop and restart nodes: only ever the tools cluster
//   globals: { tributaryKafka: { brokers: 3, faults: true } },
//
// Resolution order (first that applies wins):
//   1. KAFKA_BROKERS (KAFKA_CLUSTER_BROKERS for 3-broker suites) is set: use it.
//   2. TRIBUTARY_KAFKA_PROVIDER=tools|docker forces one of the two below.
//   3. A Docker engine answers `docker info`: a throwaway apache/kafka container
//      via testcontainers (single broker only).
//   4. Java 17+ and Maven (or already-fetched jars): tools/kafka/broker.mjs.
//   5. Otherwise: an error that says how to provide a broker.
//
// Sets for the workers: KAFKA_BROKERS (bootstrap list) and TRIBUTARY_KAFKA_SOURCE
// (external | docker | tools; fault tests that kill nodes need `tools`).
//
// `faults: true` (suites that stop broker nodes): steps 1-3 do not apply. The
// suite always gets the tools/kafka broker(s), on their own ports, so a
// user's broker is never stopped; KAFKA_BROKERS is not looked at, and a set
// KAFKA_CLUSTER_BROKERS is an error (it names brokers we would have to kill)
// rather than a silent skip.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerError, composeExpectations, ensureBroker, findJava, hasMaven, jarsPresent, settings } from './broker.mjs';
import { probeKafka } from './kafka-protocol.mjs';

export const STATE_KEY = Symbol.for('tributary.kafka.jestGlobalSetup');

const log = (msg) => process.stderr.write(`[tributary-kafka] ${msg}\n`);

function dockerAvailable() {
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) resolve({ ok: false, reason: (stderr || err.message).trim().split('\n').pop() });
      else resolve({ ok: true, version: stdout.trim() });
    });
  });
}

async function waitForKafka(bootstrap, { timeoutMs, what }) {
  const first = bootstrap.split(',')[0].trim();
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probeKafka(first, { timeoutMs: 2000 });
    if (last.state === 'kafka') return last;
    if (last.state === 'not-kafka') {
      // Could be a TLS/SASL listener the plaintext probe can't talk to: let the tests try.
      log(`warning: ${first} (${what}) did not answer a plaintext Kafka probe: ${last.detail}`);
      return last;
    }
    if (Date.now() > deadline) {
      throw new BrokerError(`${what} ${first} does not answer Kafka requests (${last.state}${last.detail ? `: ${last.detail}` : ''}) after ${timeoutMs / 1000} s`);
    }
    await delay(250);
  }
}

async function startContainer() {
  let tc;
  try {
    tc = await import('testcontainers');
  } catch {
    throw new BrokerError(
      'A Docker engine is available but the npm package "testcontainers" is not installed. ' +
        'Add it as a devDependency (npm i -D testcontainers @testcontainers/kafka), or set TRIBUTARY_KAFKA_PROVIDER=tools (Java 17 + Maven), or KAFKA_BROKERS=host:port.',
    );
  }
  const { GenericContainer, Wait } = tc;
  // @testcontainers/kafka's KafkaContainer drives Confluent images only
  // (/etc/confluent/docker/run); for the official apache/kafka image we do the
  // same trick by hand: start the container idle, learn the mapped port, then
  // drop in a start script that advertises host:mappedPort.
  const STARTER = '/tmp/tributary-start.sh';
  const READY_LINE = 'tributary: waiting for start script';
  const logTail = [];
  const env = {
    ...composeExpectations().environment,
    CLUSTER_ID: randomBytes(16).toString('base64url').replace(/^-/, 'A'),
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
    KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9094,CONTROLLER://0.0.0.0:9093',
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs',
  };
  const started = Date.now();
  log(`starting ${settings.dockerImage} with testcontainers ...`);
  const container = await new GenericContainer(settings.dockerImage)
    .withExposedPorts(9092)
    .withEnvironment(env)
    .withEntrypoint(['sh'])
    .withCommand(['-c', `echo '${READY_LINE}'; while [ ! -f ${STARTER} ]; do sleep 0.1; done; exec sh ${STARTER}`])
    .withWaitStrategy(Wait.forLogMessage(READY_LINE))
    .withStartupTimeout(180_000)
    .withLogConsumer((stream) =>
      stream.on('data', (line) => {
        logTail.push(String(line).trimEnd());
        if (logTail.length > 60) logTail.shift();
      }),
    )
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(9092);
  const bootstrap = `${host}:${port}`;
  await container.copyContentToContainer([
    {
      content: `export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://${host}:${port},BROKER://localhost:9094\nexec /etc/kafka/docker/run\n`,
      target: STARTER,
      mode: 0o755,
    },
  ]);
  try {
    await waitForKafka(bootstrap, { timeoutMs: settings.startTimeoutMs, what: 'the Kafka container at' });
  } catch (err) {
    await container.stop().catch(() => {});
    err.message += `\n--- container log (tail)\n${logTail.join('\n')}`;
    throw err;
  }
  log(`Kafka container ready at ${bootstrap} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    bootstrap,
    source: 'docker',
    startedByUs: true,
    stop: async () => {
      await container.stop();
    },
  };
}

async function toolsUsable() {
  try {
    await findJava();
  } catch (err) {
    return { ok: false, reason: err.message.split('. ')[0] };
  }
  if (!jarsPresent() && !(await hasMaven())) return { ok: false, reason: 'Maven (mvn) is not installed and the Kafka jars are not cached yet' };
  return { ok: true };
}

/**
 * Resolves a broker for a test run.
 * `faults`: the suite stops and restarts nodes, so only the tools broker(s) will do.
 * @param {{brokers?: number, faults?: boolean}} [options]
 * @returns {Promise<{bootstrap: string, source: 'external'|'docker'|'tools', startedByUs: boolean, stop: () => Promise<void>}>}
 */
export async function setupKafka({ brokers = 1, faults = false } = {}) {
  const cluster = brokers > 1;
  const envName = cluster ? 'KAFKA_CLUSTER_BROKERS' : 'KAFKA_BROKERS';
  const given = process.env[envName]?.trim();
  if (faults) return setupForFaults({ brokers, envName, given });
  if (given) {
    await waitForKafka(given, { timeoutMs: 30_000, what: `${envName}=${given}:` });
    return { bootstrap: given, source: 'external', startedByUs: false, stop: async () => {} };
  }

  const forced = process.env.TRIBUTARY_KAFKA_PROVIDER?.trim();
  if (forced && forced !== 'tools' && forced !== 'docker') {
    throw new BrokerError(`TRIBUTARY_KAFKA_PROVIDER must be "tools" or "docker", not "${forced}"`);
  }

  const viaTools = async () => {
    const b = await ensureBroker({ brokers });
    return { ...b, source: 'tools' };
  };

  if (forced === 'tools') return viaTools();
  const docker = forced === 'docker' ? { ok: true } : await dockerAvailable();
  if (docker.ok && !cluster) return startContainer();
  const tools = await toolsUsable();
  if (tools.ok) return viaTools();

  throw new BrokerError(
    `No Kafka broker for the tests. Provide one of:\n` +
      `  - ${envName}=host:port[,host:port...] pointing at a running broker` +
      (cluster ? ' cluster of 3' : ' (e.g. `docker compose up -d kafka`, then KAFKA_BROKERS=127.0.0.1:9092)') +
      `\n  - Java ${settings.javaMinVersion}+ and Maven on PATH: tools/kafka/broker.mjs then runs a local broker (Debian: apt-get install openjdk-17-jre-headless maven)\n` +
      (cluster ? '' : `  - a running Docker engine: the tests start ${settings.dockerImage} with testcontainers\n`) +
      `Found: tools: ${tools.reason}` +
      (cluster ? '' : `; docker: ${docker.reason || 'not usable'}`),
  );
}

/** Fault suites: the tools broker(s) or a clear error, never someone else's brokers. */
async function setupForFaults({ brokers, envName, given }) {
  const what = `These fault tests stop and restart Kafka nodes, so they run only on the ${brokers > 1 ? `${brokers}-broker cluster` : 'broker'} tools/kafka/broker.mjs starts (its own ports; a broker in KAFKA_BROKERS is not used or touched)`;
  // KAFKA_BROKERS is the single-broker suites' variable: ignored here. The
  // cluster variable would name brokers this suite has to kill: refuse it.
  if (given && envName !== 'KAFKA_BROKERS') {
    throw new BrokerError(`${what}. ${envName}=${given} is set: unset it for this suite.`);
  }
  const forced = process.env.TRIBUTARY_KAFKA_PROVIDER?.trim();
  if (forced && forced !== 'tools') {
    throw new BrokerError(`${what}. TRIBUTARY_KAFKA_PROVIDER=${forced} is set: unset it or set it to "tools".`);
  }
  const tools = await toolsUsable();
  if (!tools.ok) {
    throw new BrokerError(
      `${what}, which needs Java ${settings.javaMinVersion}+ and Maven on PATH (or the jars already cached; Debian: apt-get install openjdk-17-jre-headless maven). Found: ${tools.reason}.`,
    );
  }
  const b = await ensureBroker({ brokers });
  return { ...b, source: 'tools' };
}

/** Jest globalSetup entry point. */
export default async function globalSetup(_globalConfig, projectConfig) {
  const options = projectConfig?.globals?.tributaryKafka ?? {};
  const brokers = Number(options.brokers ?? 1);
  const res = await setupKafka({ brokers, faults: options.faults === true });
  process.env.KAFKA_BROKERS = res.bootstrap;
  process.env.TRIBUTARY_KAFKA_SOURCE = res.source;
  // Read back by jest-global-teardown.mjs (same process).
  globalThis[STATE_KEY] = [...(globalThis[STATE_KEY] ?? []), res];
}
