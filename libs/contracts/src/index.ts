export * from './services';
export * from './rpc';
export * from './events';
export * from './errors';
export * from './manifest-cache';
export * from './upload-status';
export * from './form-copies';
export * from './pdf-workflow';
