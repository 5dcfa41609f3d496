export * from './cipher';
export * from './config';
export * from './self-signed';
