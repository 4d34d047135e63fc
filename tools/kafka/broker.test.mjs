// Tests for tools/kafka: `node --test tools/kafka/`
// The broker test runs a real Kafka on random free ports with a temporary
// state dir (jars from the normal cache); without Java 17+ it fails, naming what is missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  brokerStatus,
  checkCompose,
  composeExpectations,
  ensureBroker,
  findJava,
  hasMaven,
  jarsPresent,
  layout,
  propertyToEnv,
  startBroker,
  stopBroker,
  stopNode,
} from './broker.mjs';
import { parseHostPort, probeKafka } from './kafka-protocol.mjs';

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const srv = net.createServer();
    const port = await listen(srv);
    await new Promise((r) => srv.close(r));
    if (port + 1 > 65535) continue;
    const other = net.createServer();
    const ok = await new Promise((resolve) => {
      other.once('error', () => resolve(false));
      other.listen(port + 1, '127.0.0.1', () => other.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port pair');
}

describe('settings and docker-compose.yml', () => {
  test('docker-compose.yml matches broker-settings.json', () => {
    assert.deepEqual(checkCompose(), []);
  });

  test('property names map to apache/kafka image env vars', () => {
    assert.equal(propertyToEnv('message.max.bytes'), 'KAFKA_MESSAGE_MAX_BYTES');
    assert.equal(propertyToEnv('a_b-c.d'), 'KAFKA_A__B___C_D');
    assert.equal(composeExpectations().environment.KAFKA_MESSAGE_MAX_BYTES, '2097152');
  });

  test('layouts: single on 9092/9093, cluster on 19092-19094 / 19192-19194', () => {
    const single = layout({ brokers: 1, port: 9092 });
    assert.equal(single.bootstrap, '127.0.0.1:9092');
    assert.deepEqual(single.nodes.map((n) => n.controllerPort), [9093]);
    const cluster = layout({ brokers: 3, port: 19092 });
    assert.equal(cluster.bootstrap, '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094');
    assert.deepEqual(cluster.nodes.map((n) => n.controllerPort), [19192, 19193, 19194]);
    assert.throws(() => layout({ brokers: 2 }), /--brokers must be 1 or 3/);
  });
});

describe('kafka protocol probe', () => {
  test('parses host:port', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:9092'), { host: '127.0.0.1', port: 9092 });
    assert.deepEqual(parseHostPort('[::1]:9092'), { host: '::1', port: 9092 });
  });

  test('closed port', async () => {
    const port = await freePortPair();
    assert.equal((await probeKafka(`127.0.0.1:${port}`)).state, 'closed');
  });

  test('an HTTP server is not Kafka', async () => {
    const server = http.createServer((_req, res) => res.end('hi'));
    const port = await listen(server);
    try {
      const p = await probeKafka(`127.0.0.1:${port}`);
      assert.equal(p.state, 'not-kafka', JSON.stringify(p));
    } finally {
      server.close();
    }
  });

  test('a server that never answers is silent', async () => {
    const sockets = [];
    const server = net.createServer((s) => sockets.push(s));
    const port = await listen(server);
    try {
      assert.equal((await probeKafka(`127.0.0.1:${port}`, { timeoutMs: 300 })).state, 'silent');
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });
});

let javaProblem = null;
try {
  await findJava();
  if (!jarsPresent() && !(await hasMaven())) javaProblem = 'no cached Kafka jars and no mvn';
} catch (err) {
  javaProblem = err.message;
}

// Never skipped: without Java and Maven (or cached jars) this fails and says why.
describe('real broker', { timeout: 240_000 }, () => {
  let stateDir;
  let port;
  const savedEnv = process.env.TRIBUTARY_KAFKA_STATE_DIR;
  const quiet = { log: () => {} };

  before(async () => {
    if (javaProblem) throw new Error(`the tools/ broker needs Java 17+ and Maven (or cached jars): ${javaProblem}`);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-kafka-test-'));
    process.env.TRIBUTARY_KAFKA_STATE_DIR = stateDir;
    port = await freePortPair();
  });

  after(async () => {
    await stopBroker({ port, ...quiet }).catch(() => {});
    if (savedEnv === undefined) delete process.env.TRIBUTARY_KAFKA_STATE_DIR;
    else process.env.TRIBUTARY_KAFKA_STATE_DIR = savedEnv;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('start, reuse, lease, stop', async () => {
    const first = await startBroker({ port, ...quiet });
    assert.equal(first.bootstrap, `127.0.0.1:${port}`);
    assert.equal(first.startedByUs, true);

    const probe = await probeKafka(first.bootstrap);
    assert.equal(probe.state, 'kafka');
    assert.deepEqual(probe.brokers.map((b) => `${b.host}:${b.port}`), [first.bootstrap]);
    assert.equal(probe.clusterId, first.clusterId);

    const again = await startBroker({ port, ...quiet });
    assert.equal(again.startedByUs, false);

    // Started by a person (startBroker): a test lease must not stop it.
    const lease = await ensureBroker({ port, ...quiet });
    assert.equal(lease.startedByUs, false);
    await lease.stop();
    assert.equal((await brokerStatus({ port })).ready, true);

    assert.equal(await stopBroker({ port, ...quiet }), 1);
    assert.equal((await probeKafka(first.bootstrap)).state, 'closed');

    // Started by a test run: stopped when the last lease goes.
    const a = await ensureBroker({ port, ...quiet });
    const b = await ensureBroker({ port, ...quiet });
    assert.equal(a.startedByUs, true);
    assert.equal(b.startedByUs, false);
    assert.equal(a.clusterId, first.clusterId, 'state survives a restart');
    await a.stop();
    await b.stop(); // same pid holds both leases: the last release stops it
    assert.equal((await probeKafka(first.bootstrap)).state, 'closed');
  });

  test('stop-node stops one node (clean or crash); start brings it back with its data', async () => {
    const cli = (...args) =>
      new Promise((resolve) => {
        execFile(process.execPath, [path.join(import.meta.dirname, 'broker.mjs'), ...args, '--port', String(port)], (err, stdout, stderr) =>
          resolve({ code: err ? err.code : 0, stdout, stderr }),
        );
      });
    const first = await startBroker({ port, ...quiet });
    try {
      const stopped = await cli('stop-node', '--node', '1');
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /stopped node 1 \(127\.0\.0\.1:\d+\) with SIGTERM/);
      assert.equal((await probeKafka(first.bootstrap)).state, 'closed');
      const again = await cli('stop-node', '--node', '1');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /node 1 of 127\.0\.0\.1:\d+ is not running/);
      assert.match((await cli('stop-node')).stderr, /stop-node needs --node N/);
      assert.match((await cli('stop-node', '--node', '2')).stderr, /no node 2 in/);

      // Only the missing node is started (here: the only one), on the same data.
      const back = await startBroker({ port, ...quiet });
      assert.equal(back.startedByUs, true);
      assert.equal(back.clusterId, first.clusterId);
      // A crash. (Not restarted here: after a SIGKILL the node's old registration
      // holds its id until broker.session.timeout.ms, 9 s in single mode.)
      const killed = await cli('stop-node', '--node', '1', '--kill');
      assert.equal(killed.code, 0, killed.stderr);
      assert.match(killed.stderr, /with SIGKILL/);
      assert.equal((await probeKafka(first.bootstrap)).state, 'closed');
      assert.equal(await stopNode({ port, nodeId: 1 }), false, 'the module agrees: nothing to stop');
    } finally {
      await stopBroker({ port, ...quiet });
    }
  });

  test('refuses a port held by something that is not Kafka', async () => {
    const server = http.createServer((_req, res) => res.end('hi'));
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      await assert.rejects(startBroker({ port, ...quiet }), /port \d+ is in use.*(not answer Kafka|does not speak Kafka)/s);
    } finally {
      server.close();
    }
  });
});
