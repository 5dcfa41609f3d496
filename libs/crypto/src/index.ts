export * from './cipher';
