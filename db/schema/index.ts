export * from './auth';
export * from './system';
export * from './fleet';
export * from './apps';
export * from './catalog';
export * from './config';
export * from './rbac';
export * from './sessions';
