import type { RpcPattern, RpcRequest, RpcResponse } from '@app/contracts';
import { RpcCallError, RpcClient } from '@app/messaging';
import type { HttpMetrics } from '@app/observability';

/** The gateway's one RpcClient, injected by class; it counts the calls that fail. */
export class ServicesClient extends RpcClient {
  metrics?: Pick<HttpMetrics, 'rpcErrors' | 'rpcDuration'>;

  override async send<P extends RpcPattern>(
    pattern: P,
    data: RpcRequest<P>,
    options: { timeoutMs?: number } = {},
  ): Promise<RpcResponse<P>> {
    const target = pattern.split('.')[0];
    const end = this.metrics?.rpcDuration.startTimer({ target });
    try {
      const res = await super.send(pattern, data, options);
      end?.({ outcome: 'ok' });
      return res;
    } catch (err) {
      end?.({ outcome: 'error' });
      // The service's own 4xx answers are callers' mistakes, not failures of the path.
      if (err instanceof RpcCallError && err.body.status >= 500)
        this.metrics?.rpcErrors.inc({ target, code: err.body.code });
      throw err;
    }
  }
}
