import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OAuth2Client } from 'google-auth-library';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { GatewayConfig } from '../config';

/**
 * Pub/Sub push's own credential: an OIDC identity token Google signs for the subscription's
 * service account, in `Authorization: Bearer` (Google never sends an API key). It is verified
 * with google-auth-library against Google's certificates: signature, expiry, issuer
 * (accounts.google.com), audience, then the service account's email, which Google must have
 * verified. Certificates that cannot be fetched are a 503, so Pub/Sub delivers again later.
 */
@Injectable()
export class PubSubPushGuard implements CanActivate {
  private readonly client: OAuth2Client;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.client = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: config.GOOGLE_OIDC_CERTS_URL },
      // Node's own fetch, with a deadline (gaxios would load node-fetch, and wait without end).
      transporterOptions: { fetchImplementation: fetch, timeout: 10_000 },
    });
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const audience = this.config.PUBSUB_PUSH_AUDIENCE;
    const account = this.config.PUBSUB_PUSH_SERVICE_ACCOUNT;
    if (!audience || !account)
      throw new UnauthorizedException(
        'Gmail push is not enabled: PUBSUB_PUSH_AUDIENCE and PUBSUB_PUSH_SERVICE_ACCOUNT are not set',
      );
    const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token)
      throw new UnauthorizedException(
        "a Pub/Sub push needs Google's OIDC token in the Authorization header (Bearer)",
      );
    let certs;
    try {
      certs = (await this.client.getFederatedSignonCertsAsync()).certs;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "Google's OIDC certificates unreachable");
      throw new ServiceUnavailableException("Google's signing certificates cannot be fetched");
    }
    let payload;
    try {
      const ticket = await this.client.verifySignedJwtWithCertsAsync(token, certs, audience, [
        'accounts.google.com',
        'https://accounts.google.com',
      ]);
      payload = ticket.getPayload();
    } catch (err) {
      // The library's reason (expired, wrong audience, bad signature) without the token.
      throw new UnauthorizedException(
        `the push's identity token was refused: ${(err as Error).message.split(':')[0]}`,
      );
    }
    if (payload?.email !== account || payload.email_verified !== true)
      throw new UnauthorizedException(
        "the push's identity token is not the configured Pub/Sub service account's",
      );
    return true;
  }
}
