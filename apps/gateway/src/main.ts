import 'reflect-metadata';
import { loadConfig } from '@app/config';
import { gatewaySchema, type GatewayConfig } from './config';
import { createGatewayApp } from './app';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(gatewaySchema);
  } catch (err) {
    process.stderr.write(`gateway: ${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const app = await createGatewayApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
}

void main();
