import { createUpstreamSim } from './sim';

/** Upstream simulators for local runs: VBMS at /vbms, VVA at /vva, BGS at /bgs. */
async function main(): Promise<void> {
  const { app, state } = createUpstreamSim();
  for (const fn of (process.env.SIM_RESTRICTED_FILE_NUMBERS ?? '').split(',').filter(Boolean))
    state.restricted.add(fn);
  const port = Number(process.env.SIM_PORT ?? 3200);
  await app.listen({ port, host: process.env.SIM_HOST ?? '127.0.0.1' });
  process.stdout.write(
    `${JSON.stringify({ level: 'info', service: 'upstream-sim', msg: `upstream simulators on ${port}` })}\n`,
  );
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
