export * from './data-source';
export * from './migrations';
export * from './messaging-tables';
export * from './tenancy';
