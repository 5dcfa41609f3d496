export * from './topology';
export * from './rpc-server';
export * from './rpc-client';
export * from './rpc-errors';
export * from './event-bus';
export * from './outbox';
export * from './inbox';
export * from './in-flight';
