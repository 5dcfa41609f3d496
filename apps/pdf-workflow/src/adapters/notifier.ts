import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { PdfWorkflowConfig } from '../config';

export interface Notice {
  channel: 'email' | 'sms';
  to: string;
  subject: string;
  body: string;
}

/** Email and SMS through the notification provider's HTTP API (a local simulator in development). */
@Injectable()
export class Notifier {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig) {}

  async send(n: Notice): Promise<void> {
    const res = await fetch(`${this.config.NOTIFY_URL}/${n.channel}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: n.to, subject: n.subject, body: n.body }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`notification provider answered ${res.status}`);
  }
}
