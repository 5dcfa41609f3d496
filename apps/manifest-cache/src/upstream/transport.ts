import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Agent, errors, request } from 'undici';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig, UpstreamName } from '../config';

export class UpstreamError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${source}: ${message}`);
    this.name = 'UpstreamError';
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/**
 * HTTP to the upstreams, one connection pool each, with the client certificate, key and CA
 * their deployment gives (VBMS, VVA and BGS all want mutual TLS), a connect timeout and a
 * timeout for the whole answer.
 */
@Injectable()
export class UpstreamTransport implements OnModuleDestroy {
  private readonly agents = new Map<UpstreamName, Agent>();

  constructor(@Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig) {}

  private agent(upstream: UpstreamName): Agent {
    let a = this.agents.get(upstream);
    if (!a) {
      const file = (name: string) => {
        const path = (this.config as unknown as Record<string, string | undefined>)[
          `${upstream}_TLS_${name}_FILE`
        ];
        return path ? readFileSync(path) : undefined;
      };
      a = new Agent({
        connect: {
          cert: file('CERT'),
          key: file('KEY'),
          ca: file('CA'),
          timeout: this.config.UPSTREAM_CONNECT_TIMEOUT_MS,
        },
        headersTimeout: this.config.UPSTREAM_TIMEOUT_MS,
        bodyTimeout: this.config.UPSTREAM_TIMEOUT_MS,
      });
      this.agents.set(upstream, a);
    }
    return a;
  }

  /** One call; a network failure or timeout is an UpstreamError naming the source. */
  async send(
    upstream: UpstreamName,
    source: string,
    url: string,
    init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
  ): Promise<UpstreamResponse> {
    try {
      const res = await request(url, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.body,
        dispatcher: this.agent(upstream),
        signal: AbortSignal.timeout(this.config.UPSTREAM_TIMEOUT_MS),
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw new UpstreamError(source, describe(err, this.config.UPSTREAM_TIMEOUT_MS));
    }
  }

  /** The whole answer as text, at most `maxBytes`. */
  async text(res: UpstreamResponse, source: string, maxBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of res.body) {
        n += (c as Buffer).length;
        if (n > maxBytes) {
          discard(res);
          throw new UpstreamError(source, `answer larger than ${maxBytes} bytes`);
        }
        chunks.push(c as Buffer);
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError(source, describe(err, this.config.UPSTREAM_TIMEOUT_MS));
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
  }
}

/** Drops an answer's body unread (an aborted body must not surface as an unhandled error). */
export function discard(res: UpstreamResponse): void {
  res.body.on('error', () => undefined);
  res.body.destroy();
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as Error;
  if (
    e.name === 'TimeoutError' ||
    e instanceof errors.HeadersTimeoutError ||
    e instanceof errors.BodyTimeoutError ||
    e instanceof errors.ConnectTimeoutError
  )
    return `no answer within ${timeoutMs} ms`;
  return `unreachable (${e.message})`;
}
