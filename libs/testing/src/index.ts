export * from './env';
export * from './tcp-proxy';
export * from './eventually';
export * from './streams';
export * from './invoices';
export * from './rabbit-cluster';
export * from './lighthouse-keys';
export * from './corpus';
