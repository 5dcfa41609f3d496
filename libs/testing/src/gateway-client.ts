import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import createClient from 'openapi-fetch';
import type { paths } from './gateway-api';

/**
 * The gateway's API as a client generated from openapi.json sees it (openapi-typescript's
 * types, openapi-fetch's calls), sent through the app in process: what the contract says
 * is what a test exercises.
 */
export function gatewayClient(app: NestFastifyApplication, headers: Record<string, string>) {
  return createClient<paths>({
    baseUrl: 'http://gateway.test',
    headers,
    fetch: async (input: Request) => {
      const url = new URL(input.url);
      const payload = input.body ? Buffer.from(await input.arrayBuffer()) : undefined;
      const res = await app.inject({
        method: input.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
        url: url.pathname + url.search,
        headers: Object.fromEntries(input.headers.entries()),
        ...(payload ? { payload } : {}),
      });
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : String(v));
      const empty = res.statusCode === 204 || res.statusCode === 304 || res.rawPayload.length === 0;
      return new Response(empty ? null : res.rawPayload, { status: res.statusCode, headers: out });
    },
  });
}
