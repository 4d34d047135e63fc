#!/usr/bin/env node
// Local real-broker tooling: runs Apache Kafka (KRaft, combined
// broker+controller nodes) from jars fetched off Maven Central, for tests.
// Node 20 built-ins only. See tools/kafka/README.md.
//
// CLI:   node tools/kafka/broker.mjs start|stop|status|fetch|check-compose [--brokers 3] [--port N] [--fresh]
//        node tools/kafka/broker.mjs stop-node --brokers 3 --node N [--kill]   (fault injection)
// API:   import { ensureBroker } from './broker.mjs';
//        const { bootstrap, stop, startedByUs } = await ensureBroker({ brokers: 1 });
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeKafka } from './kafka-protocol.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const settings = JSON.parse(fs.readFileSync(path.join(HERE, 'broker-settings.json'), 'utf8'));

/** An error whose message is meant for a person; the CLI prints it without a stack. */
export class BrokerError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BrokerError';
  }
}

const defaultLog = (msg) => process.stderr.write(`[tributary-kafka] ${msg}\n`);

// ---------------------------------------------------------------------------
// Paths and layout

export function kafkaVersion() {
  return process.env.TRIBUTARY_KAFKA_VERSION || settings.kafkaVersion;
}

function cacheRoot() {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'tributary');
}

/** Where the jars live: $TRIBUTARY_KAFKA_HOME or ~/.cache/tributary/kafka-<version>. */
export function kafkaHome() {
  return path.resolve(process.env.TRIBUTARY_KAFKA_HOME || path.join(cacheRoot(), `kafka-${kafkaVersion()}`));
}

/** Where broker state (data, logs, pidfiles) lives. */
export function stateRoot() {
  return path.resolve(process.env.TRIBUTARY_KAFKA_STATE_DIR || cacheRoot());
}

/** The jar directory if the jars are present: <home>/lib (ours) or <home>/libs (an unpacked Kafka distribution). */
function findLibDir(home = kafkaHome()) {
  const jar = `kafka_${settings.scalaVersion}-${kafkaVersion()}.jar`;
  for (const d of ['lib', 'libs']) {
    if (fs.existsSync(path.join(home, d, jar))) return path.join(home, d);
  }
  return null;
}

function envPort(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new BrokerError(`${name}=${v} is not a TCP port`);
  return n;
}

/**
 * Everything about one broker set-up (single node or cluster): ports, dirs, files.
 * @param {{brokers?: number, port?: number}} [options]
 */
export function layout({ brokers = 1, port } = {}) {
  brokers = Number(brokers);
  if (brokers !== 1 && brokers !== settings.cluster.brokers) {
    throw new BrokerError(`--brokers must be 1 or ${settings.cluster.brokers}, got ${brokers}`);
  }
  const cluster = brokers > 1;
  const cfg = cluster ? settings.cluster : settings.single;
  const base = Number(port ?? envPort(cluster ? 'TRIBUTARY_KAFKA_CLUSTER_PORT' : 'TRIBUTARY_KAFKA_PORT') ?? cfg.port);
  if (!Number.isInteger(base) || base < 1 || base + brokers - 1 + cfg.controllerPortOffset > 65535) {
    throw new BrokerError(`invalid port ${port}`);
  }
  const dir = path.join(stateRoot(), cluster ? `cluster-${base}` : `broker-${base}`);
  const nodes = [];
  for (let i = 0; i < brokers; i++) {
    const nodeDir = cluster ? path.join(dir, `node-${i + 1}`) : dir;
    nodes.push({
      id: i + 1,
      port: base + i,
      controllerPort: base + i + cfg.controllerPortOffset,
      address: `127.0.0.1:${base + i}`,
      dir: nodeDir,
      dataDir: path.join(nodeDir, 'data'),
      propsFile: path.join(nodeDir, 'server.properties'),
      log4jFile: path.join(nodeDir, 'log4j2.properties'),
      logFile: path.join(nodeDir, 'server.log'),
      stdoutFile: path.join(nodeDir, 'stdout.log'),
      pidFile: path.join(nodeDir, 'broker.pid'),
    });
  }
  return {
    brokers,
    cluster,
    port: base,
    dir,
    nodes,
    bootstrap: nodes.map((n) => n.address).join(','),
    lockFile: `${dir}.lock`,
    leasesDir: path.join(dir, 'leases'),
    autoStartedFile: path.join(dir, 'autostarted'),
    clusterIdFile: path.join(dir, 'cluster-id'),
  };
}

/** server.properties for one node, as an ordered object. */
export function nodeProperties(L, node) {
  const voters = L.nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  return {
    'process.roles': 'broker,controller',
    'node.id': String(node.id),
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': node.dataDir,
    ...settings.brokerProperties,
    ...(L.cluster ? settings.clusterProperties : settings.singleProperties),
  };
}

const LOG4J2 = `# written by tools/kafka/broker.mjs on every start
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = \${sys:tributary.logFile}
appender.file.filePattern = \${sys:tributary.logFile}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = warn
`;

// ---------------------------------------------------------------------------
// Small helpers

function run(cmd, args, { timeoutMs = 600_000, cwd, env } = {}) {
  return new Promise((resolve) => {
    let output = '';
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ code: null, output: '', error });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, output, error });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

function tail(text, lines = 40) {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

function tailFile(file, lines = 40) {
  try {
    const st = fs.statSync(file);
    const len = Math.min(st.size, 256 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, st.size - len);
    fs.closeSync(fd);
    return tail(buf.toString('utf8'), lines);
  } catch {
    return '';
  }
}

function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function readPid(file) {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    const r = await run('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { timeoutMs: 5000 });
    return r.code === 0 ? r.output.trim() : '';
  }
}

/** The pid of this node's broker if its pidfile points at a live kafka.Kafka for this node. */
async function nodePid(node) {
  const pid = readPid(node.pidFile);
  if (!pid || !isAlive(pid)) return null;
  const cmd = await commandLine(pid);
  return cmd.includes('kafka.Kafka') && cmd.includes(node.propsFile) ? pid : null;
}

/** Resolves true if 127.0.0.1:port can be bound (nobody listens there). */
function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Best effort (Linux): "pid 123 (python3 -m http.server)" for whoever listens on a TCP port. */
async function describePortOwner(port) {
  try {
    const inodes = new Set();
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 10 || cols[3] !== '0A') continue; // LISTEN
        if (Number.parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
      }
    }
    if (inodes.size === 0) return '';
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds;
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target;
        try {
          target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1])) {
          const cmd = (await commandLine(Number(pid))).trim();
          return ` by pid ${pid} (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})`;
        }
      }
    }
  } catch {
    // best effort only
  }
  return '';
}

function randomClusterId() {
  // Kafka cluster ids are base64url UUIDs (22 chars); avoid a leading '-' like Kafka does.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function withLock(file, fn, { timeoutMs = settings.startTimeoutMs + 60_000, log = defaultLog } = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = readPid(file);
    if (holder === null || !isAlive(holder)) {
      // Stale lock from a dead process: move it aside atomically, then retry.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
        fs.rmSync(aside, { force: true });
      } catch {
        // someone else took care of it
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new BrokerError(`timed out waiting for ${file} (held by pid ${holder}, which is starting or stopping the same broker)`);
    }
    if (!told) {
      log(`waiting for pid ${holder}, which is starting or stopping the same broker`);
      told = true;
    }
    await delay(200);
  }
  try {
    return await fn();
  } finally {
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------
// Java, Maven, jars

/** Finds Java (JAVA_HOME/bin/java or java on PATH) and checks it is 17+. Throws BrokerError otherwise. */
export async function findJava() {
  const bin = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const r = await run(bin, ['-version'], { timeoutMs: 30_000 });
  const help = `Install Java ${settings.javaMinVersion}+ (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17), or set JAVA_HOME; or point tests at an existing broker with KAFKA_BROKERS=host:port.`;
  if (r.error || r.code !== 0) {
    throw new BrokerError(`Java not found (${r.error ? r.error.message : `\`${bin} -version\` exited ${r.code}`}). ${help}`);
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.output);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (!(major >= settings.javaMinVersion)) {
    throw new BrokerError(`${bin} is Java ${m ? major : '(unknown version)'}; Kafka ${kafkaVersion()} brokers need Java ${settings.javaMinVersion}+. ${help}`);
  }
  return { bin, major };
}

/** True when a `java` 17+ is available (no throw). */
export async function hasJava() {
  try {
    await findJava();
    return true;
  } catch {
    return false;
  }
}

/** True when `mvn` runs. */
export async function hasMaven() {
  const r = await run('mvn', ['-v'], { timeoutMs: 60_000 });
  return !r.error && r.code === 0;
}

/** True when the jars are already in the cache. */
export function jarsPresent() {
  return findLibDir() !== null;
}

function fetchPom() {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by tools/kafka/broker.mjs: the jars a KRaft broker needs at runtime -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tributary.tools</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${settings.scalaVersion}</artifactId>
      <version>${kafkaVersion()}</version>
    </dependency>
    <!-- Kafka 4.x logs through slf4j 1.7 to log4j2; the broker artifact brings log4j-core but not the binding. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${settings.log4jVersion}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/**
 * Downloads the broker jars (once) into <kafkaHome>/lib with Maven.
 * @returns {Promise<string>} the lib directory
 */
export async function fetchKafka({ log = defaultLog } = {}) {
  const existing = findLibDir();
  if (existing) return existing;
  const home = kafkaHome();
  if (!(await hasMaven())) {
    throw new BrokerError(
      `Kafka ${kafkaVersion()} jars are not in ${home} and Maven (mvn) is not available to download them. ` +
        `Install Maven (apt-get install maven / brew install maven), or set TRIBUTARY_KAFKA_HOME to an unpacked ` +
        `kafka_${settings.scalaVersion}-${kafkaVersion()} distribution, or set KAFKA_BROKERS=host:port to use an existing broker.`,
    );
  }
  fs.mkdirSync(home, { recursive: true });
  const work = fs.mkdtempSync(path.join(home, '.fetch-'));
  try {
    const started = Date.now();
    log(`fetching Kafka ${kafkaVersion()} jars from Maven Central into ${path.join(home, 'lib')} ...`);
    fs.writeFileSync(path.join(work, 'pom.xml'), fetchPom());
    const r = await run(
      'mvn',
      ['-q', '-B', '-f', path.join(work, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${path.join(work, 'lib')}`],
      { cwd: work, timeoutMs: 15 * 60_000 },
    );
    if (r.code !== 0) {
      throw new BrokerError(`mvn could not download the Kafka ${kafkaVersion()} jars (exit ${r.code ?? r.signal}):\n${tail(r.output, 30)}`);
    }
    try {
      fs.renameSync(path.join(work, 'lib'), path.join(home, 'lib'));
    } catch (e) {
      // A concurrent fetch won the race; its lib/ is as good as ours.
      if (!findLibDir()) throw e;
    }
    const lib = findLibDir();
    if (!lib) throw new BrokerError(`mvn finished but ${path.join(home, 'lib')} has no kafka_${settings.scalaVersion}-${kafkaVersion()}.jar`);
    log(`fetched ${fs.readdirSync(lib).length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return lib;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Start / stop / status

function writeNodeFiles(L, node) {
  fs.mkdirSync(node.dataDir, { recursive: true });
  const props = nodeProperties(L, node);
  const text = `# written by tools/kafka/broker.mjs on every start; edit tools/kafka/broker-settings.json instead\n${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
  fs.writeFileSync(node.propsFile, text);
  fs.writeFileSync(node.log4jFile, LOG4J2);
}

function javaArgs(node, lib, mainClass, args, logFile = node.logFile) {
  const extra = (process.env.TRIBUTARY_KAFKA_JAVA_OPTS || '').split(/\s+/).filter(Boolean);
  return [
    ...settings.heapOpts,
    ...settings.javaOpts,
    ...extra,
    `-Dlog4j2.configurationFile=${node.log4jFile}`,
    `-Dtributary.logFile=${logFile}`,
    `-Dkafka.logs.dir=${node.dir}`,
    '-cp',
    path.join(lib, '*'),
    mainClass,
    ...args,
  ];
}

function readClusterId(L) {
  try {
    const id = fs.readFileSync(L.clusterIdFile, 'utf8').trim();
    if (id) return id;
  } catch {
    // fall through
  }
  for (const node of L.nodes) {
    try {
      const m = /^cluster\.id=(.+)$/m.exec(fs.readFileSync(path.join(node.dataDir, 'meta.properties'), 'utf8'));
      if (m) return m[1].trim();
    } catch {
      // not formatted
    }
  }
  return null;
}

async function formatNode(java, lib, L, node, clusterId) {
  if (fs.existsSync(path.join(node.dataDir, 'meta.properties'))) return;
  const formatLog = path.join(node.dir, 'format.log');
  const r = await run(
    java,
    javaArgs(node, lib, 'kafka.tools.StorageTool', ['format', `--cluster-id=${clusterId}`, '--config', node.propsFile, '--ignore-formatted'], formatLog),
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0) {
    throw new BrokerError(
      `formatting KRaft storage in ${node.dataDir} failed (exit ${r.code ?? r.signal}):\n${tail(r.output + '\n' + tailFile(formatLog, 20), 30)}\n` +
        `If the state is from an incompatible run, start again with --fresh (deletes ${L.dir}).`,
    );
  }
}

function spawnNode(java, lib, node) {
  for (const f of [node.logFile, node.stdoutFile]) {
    if (fs.existsSync(f)) fs.renameSync(f, `${f}.prev`);
  }
  const out = fs.openSync(node.stdoutFile, 'w');
  const child = spawn(java, javaArgs(node, lib, 'kafka.Kafka', [node.propsFile]), {
    cwd: node.dir,
    detached: true, // own session: survives the Jest/CLI process; stopped via the pidfile
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const info = { node, child, exit: null };
  child.on('exit', (code, signal) => (info.exit = { code, signal }));
  child.on('error', (error) => (info.exit = { error }));
  if (child.pid) fs.writeFileSync(node.pidFile, String(child.pid));
  child.unref();
  return info;
}

function failureReport(node) {
  const parts = [];
  const out = tailFile(node.stdoutFile, 15);
  if (out) parts.push(`--- ${node.stdoutFile} (tail)\n${out}`);
  const log = tailFile(node.logFile, 30);
  if (log) parts.push(`--- ${node.logFile} (tail)\n${log}`);
  return parts.join('\n');
}

/** Is the set-up answering: every node speaks Kafka and metadata lists all brokers? */
async function readiness(L, { timeoutMs = 2000 } = {}) {
  const probes = await Promise.all(L.nodes.map((n) => probeKafka(n.address, { timeoutMs })));
  const ready = probes.every((p) => p.state === 'kafka' && p.brokers.length >= L.nodes.length);
  return { ready, probes };
}

async function killPid(pid, { timeoutMs = 30_000 } = {}) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    const killDeadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < killDeadline) await delay(100);
  }
}

async function startLocked(L, { fresh = false, log = defaultLog, timeoutMs = Number(process.env.TRIBUTARY_KAFKA_START_TIMEOUT_MS) || settings.startTimeoutMs } = {}) {
  if (fresh) {
    await stopLocked(L, { log });
    fs.rmSync(L.dir, { recursive: true, force: true });
  }

  // Classify every node: ours and alive, answering Kafka, or to be started.
  const toStart = [];
  let ownAlive = 0;
  for (const node of L.nodes) {
    const pid = await nodePid(node);
    const probe = await probeKafka(node.address, { timeoutMs: 2000 });
    if (pid) {
      ownAlive++;
      continue; // ours; may still be starting, readiness below waits for it
    }
    if (probe.state === 'kafka') continue; // someone's broker; reuse it
    if (probe.state !== 'closed') {
      const owner = await describePortOwner(node.port);
      const what =
        probe.state === 'silent'
          ? 'accepts connections but does not answer Kafka requests'
          : `does not speak Kafka (${probe.detail})`;
      throw new BrokerError(
        `port ${node.port} is in use${owner} and ${what}. Stop that process, or use another port (--port N / TRIBUTARY_KAFKA_PORT), or set KAFKA_BROKERS to a broker you run yourself.`,
      );
    }
    for (const p of [node.port, node.controllerPort]) {
      if (!(await portFree(p))) {
        throw new BrokerError(
          `port ${p} (${p === node.port ? 'client listener' : 'KRaft controller listener'} of node ${node.id}) is in use${await describePortOwner(p)}. ` +
            `Free it or choose another base port with --port N.`,
        );
      }
    }
    toStart.push(node);
  }

  if (toStart.length === 0) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { ready, probes } = await readiness(L);
      if (ready) {
        return { bootstrap: L.bootstrap, startedByUs: false, layout: L, clusterId: probes[0].clusterId };
      }
      if (Date.now() > deadline) {
        throw new BrokerError(
          `brokers at ${L.bootstrap} are running but not ready after ${timeoutMs / 1000} s ` +
            `(${probes.map((p, i) => `${L.nodes[i].address}: ${p.state}${p.brokers ? `, ${p.brokers.length} broker(s)` : ''}`).join('; ')})` +
            (ownAlive ? `\n${L.nodes.map(failureReport).filter(Boolean).join('\n')}` : ''),
        );
      }
      await delay(250);
    }
  }

  const started = Date.now();
  const { bin: java } = await findJava();
  const lib = await fetchKafka({ log });
  let clusterId = readClusterId(L);
  if (!clusterId) {
    clusterId = randomClusterId();
    fs.mkdirSync(L.dir, { recursive: true });
    fs.writeFileSync(L.clusterIdFile, `${clusterId}\n`);
  }
  for (const node of toStart) writeNodeFiles(L, node);
  await Promise.all(toStart.map((node) => formatNode(java, lib, L, node, clusterId)));
  const spawned = toStart.map((node) => spawnNode(java, lib, node));
  log(`starting Kafka ${kafkaVersion()} node(s) ${toStart.map((n) => n.address).join(', ')} (logs: ${toStart.map((n) => n.logFile).join(', ')})`);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = spawned.find((s) => s.exit);
    if (dead) {
      await Promise.all(spawned.filter((s) => !s.exit).map((s) => killPid(s.child.pid)));
      const how = dead.exit.error ? dead.exit.error.message : dead.exit.signal ? `signal ${dead.exit.signal}` : `exit code ${dead.exit.code}`;
      throw new BrokerError(`Kafka node ${dead.node.id} (${dead.node.address}) exited during startup (${how}).\n${failureReport(dead.node)}`);
    }
    const { ready, probes } = await readiness(L);
    if (ready) {
      log(`Kafka ready at ${L.bootstrap} in ${((Date.now() - started) / 1000).toFixed(1)} s (cluster id ${probes[0].clusterId})`);
      return { bootstrap: L.bootstrap, startedByUs: true, layout: L, clusterId };
    }
    if (Date.now() > deadline) {
      const report = spawned.map((s) => failureReport(s.node)).join('\n');
      await Promise.all(spawned.map((s) => killPid(s.child.pid, { timeoutMs: 10_000 })));
      throw new BrokerError(
        `Kafka at ${L.bootstrap} did not answer metadata requests within ${timeoutMs / 1000} s ` +
          `(${probes.map((p, i) => `${L.nodes[i].address}: ${p.state}`).join('; ')}); stopped it.\n${report}`,
      );
    }
    await delay(250);
  }
}

async function stopLocked(L, { log = defaultLog } = {}) {
  const pids = await Promise.all(L.nodes.map(nodePid));
  const running = L.nodes.map((node, i) => ({ node, pid: pids[i] })).filter((x) => x.pid);
  if (running.length > 0) {
    const t0 = Date.now();
    await Promise.all(running.map((x) => killPid(x.pid)));
    log(`stopped Kafka at ${running.map((x) => x.node.address).join(',')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const node of L.nodes) fs.rmSync(node.pidFile, { force: true });
  fs.rmSync(L.autoStartedFile, { force: true });
  fs.rmSync(L.leasesDir, { recursive: true, force: true });
  return running.length;
}

/**
 * Starts the broker(s) of a layout, or reuses them if they already answer.
 * Prints nothing on stdout. Resolves with { bootstrap, startedByUs, clusterId, layout }.
 * @param {{brokers?: number, port?: number, fresh?: boolean, log?: (msg: string) => void, timeoutMs?: number}} [options]
 */
export async function startBroker(options = {}) {
  const L = layout(options);
  return withLock(L.lockFile, () => startLocked(L, options), { log: options.log });
}

/**
 * Stops the broker node(s) of a layout that these tools started (SIGTERM, wait, SIGKILL after 30 s).
 * Resolves with the number of nodes stopped.
 */
export async function stopBroker(options = {}) {
  const L = layout(options);
  return withLock(L.lockFile, () => stopLocked(L, options), { log: options.log });
}

/**
 * Fault injection: stops one node of a set-up started by these tools.
 * signal 'SIGTERM' = clean shutdown (waits for exit), 'SIGKILL' = crash.
 * Bring it back with startBroker()/ensureBroker() on the same options: only
 * missing nodes are started. Resolves false if that node was not running.
 * @param {{brokers?: number, port?: number, nodeId: number, signal?: 'SIGTERM'|'SIGKILL'}} options
 */
export async function stopNode({ nodeId, signal = 'SIGTERM', ...options }) {
  const L = layout(options);
  const node = L.nodes.find((n) => n.id === nodeId);
  if (!node) throw new BrokerError(`no node ${nodeId} in ${L.bootstrap} (ids ${L.nodes.map((n) => n.id).join(', ')})`);
  const pid = await nodePid(node);
  if (!pid) return false;
  if (signal === 'SIGKILL') {
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await delay(50);
  } else {
    await killPid(pid);
  }
  fs.rmSync(node.pidFile, { force: true });
  return true;
}

/** Every set-up with a state dir under stateRoot(): [{ brokers, port }]. */
export function knownLayouts() {
  let entries = [];
  try {
    entries = fs.readdirSync(stateRoot(), { withFileTypes: true });
  } catch {
    return [];
  }
  const out = [];
  for (const e of entries) {
    const m = e.isDirectory() && /^(broker|cluster)-(\d+)$/.exec(e.name);
    if (m) out.push({ brokers: m[1] === 'cluster' ? settings.cluster.brokers : 1, port: Number(m[2]) });
  }
  return out.sort((a, b) => a.brokers - b.brokers || a.port - b.port);
}

/** Status of one layout: which nodes run (pid) and what the ports answer. */
export async function brokerStatus(options = {}) {
  const L = layout(options);
  const nodes = await Promise.all(
    L.nodes.map(async (node) => ({
      id: node.id,
      address: node.address,
      pid: await nodePid(node),
      probe: await probeKafka(node.address, { timeoutMs: 2000 }),
      logFile: node.logFile,
    })),
  );
  const ready = nodes.every((n) => n.probe.state === 'kafka' && n.probe.brokers.length >= L.nodes.length);
  return { bootstrap: L.bootstrap, ready, nodes, layout: L, autoStarted: fs.existsSync(L.autoStartedFile) };
}

// ---------------------------------------------------------------------------
// Shared use by test runs (leases)

function liveLeases(L) {
  let names = [];
  try {
    names = fs.readdirSync(L.leasesDir);
  } catch {
    return [];
  }
  const live = [];
  for (const name of names) {
    const pid = Number.parseInt(name, 10);
    if (isAlive(pid)) live.push(name);
    else fs.rmSync(path.join(L.leasesDir, name), { force: true });
  }
  return live;
}

/**
 * For test set-ups: start or reuse the broker(s) and take a lease on them.
 * `stop()` releases the lease and stops the broker(s) only if a test run
 * (not a person via the CLI) started them and no other live process still
 * holds a lease: parallel Jest runs (e.g. Nx running several packages) share
 * one broker safely.
 * @param {{brokers?: number, port?: number, log?: (msg: string) => void, timeoutMs?: number}} [options]
 * @returns {Promise<{bootstrap: string, startedByUs: boolean, clusterId: string, stop: () => Promise<void>}>}
 */
export async function ensureBroker(options = {}) {
  const L = layout(options);
  const lease = path.join(L.leasesDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  const res = await withLock(
    L.lockFile,
    async () => {
      const r = await startLocked(L, options);
      if (r.startedByUs) fs.writeFileSync(L.autoStartedFile, `${process.pid}\n`);
      fs.mkdirSync(L.leasesDir, { recursive: true });
      fs.writeFileSync(lease, '');
      return r;
    },
    { log: options.log },
  );
  let released = false;
  const stop = async () => {
    if (released) return;
    released = true;
    await withLock(
      L.lockFile,
      async () => {
        fs.rmSync(lease, { force: true });
        if (!fs.existsSync(L.autoStartedFile)) return; // started by a person: keep it
        const others = liveLeases(L);
        if (others.length > 0) {
          (options.log ?? defaultLog)(`leaving Kafka at ${L.bootstrap} running: still used by pid(s) ${others.map((n) => n.split('-')[0]).join(', ')}`);
          return;
        }
        await stopLocked(L, options);
      },
      { log: options.log },
    );
  };
  return { bootstrap: res.bootstrap, startedByUs: res.startedByUs, clusterId: res.clusterId, stop };
}

// ---------------------------------------------------------------------------
// docker-compose.yml consistency

/** Property name -> apache/kafka image env var ('.' -> '_', '_' -> '__', '-' -> '___', upper case). */
export function propertyToEnv(name) {
  return `KAFKA_${name.replace(/_/g, '__').replace(/-/g, '___').replace(/\./g, '_').toUpperCase()}`;
}

/** KAFKA_* environment that docker-compose.yml must set for the apache/kafka image (single node). */
export function composeExpectations() {
  const env = {};
  for (const [k, v] of Object.entries({ ...settings.brokerProperties, ...settings.singleProperties })) env[propertyToEnv(k)] = v;
  env.KAFKA_HEAP_OPTS = settings.heapOpts.join(' ');
  return { image: settings.dockerImage, port: settings.single.port, controllerPort: settings.single.port + settings.single.controllerPortOffset, environment: env };
}

/**
 * Reads the `kafka` service of a docker-compose.yml written in the plain
 * block style this repo uses (not a general YAML parser).
 * @returns {{ image: string|undefined, ports: string[], environment: Record<string,string> }}
 */
export function readComposeKafkaService(file = path.join(REPO_ROOT, 'docker-compose.yml')) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const unquote = (s) => {
    s = s.replace(/\s+#.*$/, '').trim();
    if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) return s.slice(1, -1);
    return s;
  };
  const indentOf = (l) => l.length - l.trimStart().length;
  const svc = { image: undefined, ports: [], environment: {} };
  let inServices = false;
  let serviceIndent = -1;
  let inKafka = false;
  let section = null;
  let sectionIndent = -1;
  for (const raw of lines) {
    if (!raw.trim() || raw.trim().startsWith('#')) continue;
    const ind = indentOf(raw);
    const line = raw.trim();
    if (ind === 0) {
      inServices = line === 'services:';
      inKafka = false;
      continue;
    }
    if (!inServices) continue;
    if (serviceIndent < 0) serviceIndent = ind;
    if (ind === serviceIndent) {
      inKafka = line === 'kafka:';
      section = null;
      continue;
    }
    if (!inKafka) continue;
    if (section && ind <= sectionIndent) section = null;
    if (!section) {
      const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === 'image') svc.image = unquote(m[2]);
      if ((m[1] === 'environment' || m[1] === 'ports') && m[2] === '') {
        section = m[1];
        sectionIndent = ind;
      }
      continue;
    }
    if (section === 'ports') {
      if (line.startsWith('- ')) svc.ports.push(unquote(line.slice(2)));
    } else if (section === 'environment') {
      const m = /^-?\s*([A-Z0-9_]+)\s*[:=]\s*(.*)$/.exec(line);
      if (m) svc.environment[m[1]] = unquote(m[2]);
    }
  }
  return svc;
}

/** Differences between docker-compose.yml and broker-settings.json ([] when consistent). */
export function checkCompose(file) {
  const want = composeExpectations();
  const got = readComposeKafkaService(file);
  const problems = [];
  if (got.image !== want.image) problems.push(`image is ${got.image}, expected ${want.image}`);
  for (const [k, v] of Object.entries(want.environment)) {
    if (got.environment[k] !== v) problems.push(`${k} is ${got.environment[k] ?? '(unset)'}, expected ${v}`);
  }
  if (!got.ports.some((p) => p.endsWith(`:${want.port}:${want.port}`) || p === `${want.port}:${want.port}`)) {
    problems.push(`ports does not publish ${want.port}:${want.port}`);
  }
  const adv = got.environment.KAFKA_ADVERTISED_LISTENERS ?? '';
  if (!adv.includes(`PLAINTEXT://127.0.0.1:${want.port}`) && !adv.includes(`PLAINTEXT://localhost:${want.port}`)) {
    problems.push(`KAFKA_ADVERTISED_LISTENERS (${adv}) does not advertise PLAINTEXT://127.0.0.1:${want.port}`);
  }
  if (!(got.environment.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '').endsWith(`:${want.controllerPort}`)) {
    problems.push(`KAFKA_CONTROLLER_QUORUM_VOTERS does not use controller port ${want.controllerPort}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// CLI

const USAGE = `usage: node tools/kafka/broker.mjs <command> [options]

commands:
  start          start (or reuse) a local Kafka; prints the bootstrap address on stdout
  stop           stop brokers started by these tools (all of them unless --brokers/--port)
  stop-node      fault injection: stop one node (--node N) of a set-up these tools started;
                 \`start\` with the same options brings back only the missing node(s)
  status         show brokers; exit 0 if the selected (or any, without options) broker answers
  fetch          only download the jars; prints the jar directory on stdout
  check-compose  compare docker-compose.yml with tools/kafka/broker-settings.json

options:
  --brokers N    1 (default; port ${settings.single.port}) or ${settings.cluster.brokers} (ports ${settings.cluster.port}-${settings.cluster.port + settings.cluster.brokers - 1}, RF 3, min ISR 2)
  --port N       client port of the (first) broker; controller ports are +${settings.single.controllerPortOffset} (single) / +${settings.cluster.controllerPortOffset} (cluster)
  --fresh        start: stop and delete the broker's state (topics, offsets) first
  --node N       stop-node: the node id (1..${settings.cluster.brokers}; 1 for a single broker)
  --kill         stop-node: crash it (SIGKILL) instead of a clean shutdown (SIGTERM)

environment: TRIBUTARY_KAFKA_HOME, TRIBUTARY_KAFKA_STATE_DIR, TRIBUTARY_KAFKA_PORT,
  TRIBUTARY_KAFKA_CLUSTER_PORT, TRIBUTARY_KAFKA_JAVA_OPTS, TRIBUTARY_KAFKA_START_TIMEOUT_MS (see README.md)`;

function describeNode(n) {
  const p = n.probe;
  const answer =
    p.state === 'kafka'
      ? `answers Kafka (cluster ${p.clusterId}, ${p.brokers.length} broker(s))`
      : p.state === 'closed'
        ? 'not listening'
        : `${p.state}${p.detail ? `: ${p.detail}` : ''}`;
  return `  ${n.address}  ${n.pid ? `pid ${n.pid}` : 'no pid of ours'}  ${answer}`;
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      brokers: { type: 'string' },
      port: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      node: { type: 'string' },
      kill: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (rest.length) throw new BrokerError(`unexpected argument(s): ${rest.join(' ')}\n${USAGE}`);
  const selected = values.brokers !== undefined || values.port !== undefined;
  const opts = {};
  if (values.brokers !== undefined) opts.brokers = Number(values.brokers);
  if (values.port !== undefined) {
    opts.port = Number(values.port);
    if (!Number.isInteger(opts.port)) throw new BrokerError(`--port ${values.port} is not a number`);
  }

  switch (command) {
    case 'start': {
      const L = layout(opts);
      const res = await startBroker({ ...opts, fresh: values.fresh });
      if (!res.startedByUs) {
        if (fs.existsSync(L.autoStartedFile)) {
          // A test run started it; from now on a person owns it and tests won't stop it.
          fs.rmSync(L.autoStartedFile, { force: true });
          defaultLog(`reusing Kafka at ${res.bootstrap} (started by a test run; now kept until \`stop\`)`);
        } else {
          defaultLog(`reusing Kafka already running at ${res.bootstrap}`);
        }
      }
      process.stdout.write(`${res.bootstrap}\n`);
      return 0;
    }
    case 'stop': {
      const targets = selected ? [opts] : knownLayouts();
      let stopped = 0;
      for (const t of targets) stopped += await stopBroker(t);
      if (stopped === 0) {
        defaultLog('no broker started by these tools is running');
        for (const t of selected ? [opts] : [{}]) {
          const st = await brokerStatus(t);
          const foreign = st.nodes.filter((n) => n.probe.state === 'kafka');
          if (foreign.length) defaultLog(`note: ${foreign.map((n) => n.address).join(',')} answers Kafka but was not started by these tools; not touching it`);
        }
      }
      return 0;
    }
    case 'stop-node': {
      const nodeId = Number(values.node);
      if (values.node === undefined || !Number.isInteger(nodeId)) throw new BrokerError('stop-node needs --node N (the node id: 1 for a single broker, 1-3 in a cluster)');
      const L = layout(opts);
      const signal = values.kill ? 'SIGKILL' : 'SIGTERM';
      const t0 = Date.now();
      if (!(await stopNode({ ...opts, nodeId, signal }))) {
        throw new BrokerError(`node ${nodeId} of ${L.bootstrap} is not running (or was not started by these tools)`);
      }
      defaultLog(`stopped node ${nodeId} (${L.nodes[nodeId - 1].address}) with ${signal} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'status': {
      const targets = selected ? [opts] : [{}, ...knownLayouts().filter((t) => !(t.brokers === 1 && t.port === layout({}).port))];
      let anyReady = false;
      for (const t of targets) {
        const st = await brokerStatus(t);
        anyReady ||= st.ready;
        const mode = st.layout.cluster ? `${st.layout.brokers}-broker cluster` : 'single broker';
        process.stdout.write(
          `${mode} ${st.bootstrap}: ${st.ready ? 'ready' : 'not ready'}${st.autoStarted ? ' (started by a test run)' : ''}\n` +
            `${st.nodes.map(describeNode).join('\n')}\n  state: ${st.layout.dir}\n`,
        );
      }
      return anyReady ? 0 : 1;
    }
    case 'fetch': {
      const lib = await fetchKafka();
      process.stdout.write(`${lib}\n`);
      return 0;
    }
    case 'check-compose': {
      const problems = checkCompose();
      if (problems.length) {
        process.stderr.write(`docker-compose.yml differs from tools/kafka/broker-settings.json:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
        return 1;
      }
      process.stdout.write('docker-compose.yml matches tools/kafka/broker-settings.json\n');
      return 0;
    }
    default:
      throw new BrokerError(`unknown command ${command}\n${USAGE}`);
  }
}

function invokedDirectly() {
  try {
    return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof BrokerError || err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
        process.stderr.write(`error: ${err.message}\n`);
      } else {
        process.stderr.write(`${err?.stack ?? err}\n`);
      }
      process.exit(1);
    },
  );
}
