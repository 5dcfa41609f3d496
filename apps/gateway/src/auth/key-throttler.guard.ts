import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthedRequest } from './api-key.guard';

/** Rate limits count per API key (per client address for the public routes). */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const r = req as unknown as AuthedRequest;
    return r.caller ? `key:${r.caller.keyId}` : `ip:${r.ip}`;
  }
}
