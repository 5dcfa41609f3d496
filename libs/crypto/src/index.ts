export * from './cipher';
export * from './config';
