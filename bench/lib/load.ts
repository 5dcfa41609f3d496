import { type ChildProcess, fork } from 'node:child_process';
import { Agent, request } from 'node:http';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export function startApp(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  return fork(entry, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

export async function waitOk(url: string, init: RequestInit = {}): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(url, init);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

/** Times `fn` in `concurrency` loops for `seconds`; latencies in milliseconds. */
export async function measure(
  fn: (i: number) => Promise<boolean>,
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        if (!(await fn(n++))) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), errors };
}

/** HTTP GETs over keep-alive sockets, one per concurrent loop. */
export async function loadHttp(
  base: string,
  path: (i: number) => string,
  concurrency: number,
  seconds: number,
  headers: Record<string, string> = {},
  ok: (status: number | undefined) => boolean = (s) => s === 200,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(base);
  const one = (p: string) =>
    new Promise<boolean>((resolve) => {
      const req = request(
        { host: url.hostname, port: url.port, path: p, agent, headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(ok(res.statusCode)));
        },
      );
      req.on('error', () => resolve(false));
      req.end();
    });
  try {
    return await measure((i) => one(path(i)), concurrency, seconds);
  } finally {
    agent.destroy();
  }
}

export function row(label: string, r: LoadResult, conc: number): string {
  return `${label.padEnd(38)} ${String(conc).padStart(4)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.errors).padStart(6)}`;
}

export const HEADER = `${'path'.padEnd(38)} ${'conc'.padStart(4)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(6)}`;

/** Peak resident memory of a process (VmHWM), in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function currentRssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resets a process's peak-RSS mark (Linux), so the next peak is that of what follows. */
export async function resetPeakRss(pid: number): Promise<boolean> {
  const { writeFile } = await import('node:fs/promises');
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
