export * from './cpu-pool';
export * from './task';
