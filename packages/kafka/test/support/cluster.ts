/**
 * Fault injection on the tools/kafka 3-broker cluster (jest.cluster.config.cjs):
 * stop one node, bring the missing ones back, and read who leads a partition.
 *
 * Nodes are stopped and started through `tools/kafka/broker.mjs`'s command
 * line (the module is ESM, which Jest's CommonJS runtime cannot import), so
 * only nodes those tools started can be touched. Partition leaders and ISRs
 * come from a KafkaJS admin (a root devDependency): the transport's admin
 * does not expose them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { waitForValue } from '@tributary/testutil';
import { brokers } from './broker';

const BROKER_CLI = path.resolve(__dirname, '..', '..', '..', '..', 'tools', 'kafka', 'broker.mjs');

/** Nodes this test file stopped and has not brought back yet (restored in `restoreCluster`). */
const down = new Set<number>();

/**
 * The cluster's bootstrap list, after checking that it is the tools cluster
 * (the only one these tests may kill nodes of). The global setup already
 * refuses anything else; this guards a run through another Jest config.
 */
export function toolsCluster(): string {
  const bootstrap = brokers();
  const source = process.env.TRIBUTARY_KAFKA_SOURCE;
  const count = bootstrap.split(',').length;
  if (source !== 'tools' || count !== 3) {
    throw new Error(
      `the cluster fault tests stop and restart broker nodes, so they need the 3-broker cluster of tools/kafka/broker.mjs ` +
        `(got ${count} broker(s) from ${source ?? 'an unknown source'}): run them with jest -c jest.cluster.config.cjs (npm run test:cluster)`,
    );
  }
  return bootstrap;
}

/** Client port of the first node: selects the cluster layout in broker.mjs. */
function basePort(): string {
  const first = toolsCluster().split(',')[0] as string;
  return first.slice(first.lastIndexOf(':') + 1);
}

function brokerCli(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BROKER_CLI, ...args, '--brokers', '3', '--port', basePort()], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`broker.mjs ${args.join(' ')} did not run: ${err.message}\n${stderr}`));
      else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr });
    });
  });
}

async function mustRun(args: readonly string[]): Promise<void> {
  const { code, stderr } = await brokerCli(args);
  if (code !== 0) throw new Error(`broker.mjs ${args.join(' ')} exited ${code}:\n${stderr}`);
}

/** Stops node `nodeId` (1-3): SIGTERM is a clean shutdown (leadership moves first), SIGKILL a crash. */
export async function stopNode(nodeId: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  down.add(nodeId);
  await mustRun(['stop-node', '--node', String(nodeId), ...(signal === 'SIGKILL' ? ['--kill'] : [])]);
}

/** Starts the stopped nodes again; resolves when every node answers Metadata listing all three brokers. */
export async function startStoppedNodes(): Promise<void> {
  if (down.size === 0) return;
  // `start` on a complete cluster would adopt it (a person's from then on, never stopped by the
  // teardown), so it runs only while a node is really missing.
  if ((await brokerCli(['status'])).code !== 0) await mustRun(['start']);
  down.clear();
}

/** For afterAll: a failed test must not leave the cluster short of a node. */
export async function restoreCluster(): Promise<void> {
  await startStoppedNodes();
}

export interface PartitionState {
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** Leader, replicas and in-sync replicas of one partition, as a broker's metadata has them now. */
export async function partitionState(topic: string, partition: number): Promise<PartitionState> {
  // A fresh client per look: its metadata is not cached across a node's death.
  const admin = new Kafka({ brokers: toolsCluster().split(','), clientId: 'tributary-cluster-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const p = topics[0]?.partitions.find((x) => x.partitionId === partition);
    if (!p) throw new Error(`no metadata for ${topic}/${partition}`);
    return { leader: p.leader, replicas: [...p.replicas].sort(), isr: [...p.isr].sort() };
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the partition's metadata satisfies `holds` (a leader change, an ISR regrown, …). */
export function waitForPartition(
  topic: string,
  partition: number,
  holds: (state: PartitionState) => boolean,
  message: string,
  timeoutMs = 60_000,
): Promise<PartitionState> {
  return waitForValue(() => partitionState(topic, partition), holds, { timeoutMs, intervalMs: 200, message: `${topic}/${partition}: ${message}` });
}
