export * from './broker.indicator';
export * from './health.controller';
export * from './metrics.controller';
