export * from './tokens';
export * from './service-kit.module';
export * from './status.service';
export * from './bootstrap';
export * from './version';
export * from './schedule';
