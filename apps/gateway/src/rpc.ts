import { RpcClient } from '@app/messaging';

/** The gateway's one RpcClient, injected by class. */
export class ServicesClient extends RpcClient {}
