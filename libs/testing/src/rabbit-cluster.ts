import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A three-node RabbitMQ cluster on this machine (the broker's own packages: three
 * `rabbitmq-server` nodes on ports of their own, joined into one cluster), for tests that
 * stop a node. Each node keeps its data in a temporary directory removed at `stop()`.
 */
export interface RabbitCluster {
  /** The nodes' AMQP URLs, in order (guest is allowed from localhost). */
  urls: string[];
  nodes: string[];
  /** Stops one node (the broker process ends, as when a machine is lost). */
  stopNode(i: number): void;
  stop(): void;
}

const ctl = (node: string, ...args: string[]) =>
  execFileSync('rabbitmqctl', ['-q', '-n', node, ...args], { encoding: 'utf8', timeout: 60_000 });

export function startRabbitCluster(basePort = 5681): RabbitCluster {
  const root = mkdtempSync(join(tmpdir(), 'rabbit-cluster-'));
  // The server runs as the `rabbitmq` user: its directories must be that user's.
  const owner = statSync('/var/lib/rabbitmq');
  chownSync(root, owner.uid, owner.gid);
  const suffix = String(process.pid % 10000);
  const nodes = [0, 1, 2].map((i) => `rqt${suffix}${i}@localhost`);
  nodes.forEach((node, i) => {
    const dir = join(root, String(i));
    mkdirSync(dir);
    writeFileSync(join(dir, 'plugins'), '[].');
    writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${basePort + i}\n`);
    for (const p of [dir, join(dir, 'plugins'), join(dir, 'rabbitmq.conf')])
      chownSync(p, owner.uid, owner.gid);
    execFileSync('rabbitmq-server', ['-detached'], {
      env: {
        ...process.env,
        RABBITMQ_NODENAME: node,
        RABBITMQ_NODE_PORT: String(basePort + i),
        RABBITMQ_DIST_PORT: String(basePort + 20000 + i),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
        RABBITMQ_PID_FILE: join(dir, 'pid'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      },
      timeout: 60_000,
    });
  });
  const stopped = new Set<number>();
  const stopNode = (i: number) => {
    if (stopped.has(i)) return;
    stopped.add(i);
    try {
      ctl(nodes[i], 'shutdown');
    } catch {
      /* already gone */
    }
  };
  const cluster: RabbitCluster = {
    urls: nodes.map((_, i) => `amqp://guest:guest@127.0.0.1:${basePort + i}`),
    nodes,
    stopNode,
    stop() {
      nodes.forEach((_, i) => stopNode(i));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (const node of nodes) awaitNode(node);
    for (const node of nodes.slice(1)) {
      ctl(node, 'stop_app');
      ctl(node, 'join_cluster', nodes[0]);
      ctl(node, 'start_app');
    }
  } catch (err) {
    cluster.stop();
    throw err;
  }
  return cluster;
}

/** A node started detached registers with epmd a moment later; until then ctl cannot reach it. */
function awaitNode(node: string): void {
  const until = Date.now() + 90_000;
  for (;;) {
    try {
      ctl(node, 'await_startup', '--timeout', '30');
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      execFileSync('sleep', ['1']);
    }
  }
}
