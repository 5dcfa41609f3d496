import { Inject, Injectable } from '@nestjs/common';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { PdfWorkflowConfig } from '../config';

export type ScanStatus = 'clean' | 'infected' | 'error';

// The EICAR test string every antivirus flags; the simulator flags exactly that.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Virus scanning: ClamAV's INSTREAM protocol in production, a signature check locally. */
@Injectable()
export class Scanner {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig) {}

  async scan(body: Readable): Promise<ScanStatus> {
    return this.config.SCANNER === 'clamav' ? this.clamav(body) : this.simulate(body);
  }

  private async simulate(body: Readable): Promise<ScanStatus> {
    let tail = '';
    for await (const chunk of body) {
      const text = tail + (chunk as Buffer).toString('latin1');
      if (text.includes(EICAR)) return 'infected';
      tail = text.slice(-EICAR.length);
    }
    return 'clean';
  }

  private clamav(body: Readable): Promise<ScanStatus> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.config.CLAMAV_HOST, port: this.config.CLAMAV_PORT });
      let answer = '';
      socket.setTimeout(30_000, () => socket.destroy());
      socket.on('error', () => resolve('error'));
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('close', () =>
        resolve(/FOUND/.test(answer) ? 'infected' : /OK/.test(answer) ? 'clean' : 'error'),
      );
      socket.on('connect', () => {
        socket.write('zINSTREAM\0');
        body.on('data', (c: Buffer) => {
          const len = Buffer.alloc(4);
          len.writeUInt32BE(c.length);
          socket.write(len);
          socket.write(c);
        });
        body.on('end', () => socket.write(Buffer.alloc(4)));
        body.on('error', () => socket.destroy());
      });
    });
  }
}
