export * from './storage';
export * from './fs-storage';
export * from './s3-storage';
export * from './create-storage';
