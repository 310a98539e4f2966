export * from './grafana-role';
export * from './credential-options';
export * from './credential-base';
export * from './workspace-api-key';
export * from './workspace-service-account';
export * from './workspace-service-account-token';
export * from './handler-placement';
// Self-managed Grafana (issue #16)
export * from './grafana-ttl';
export * from './self-managed-grafana';
export * from './self-managed-credential-options';
export * from './grafana-api-key';
export * from './grafana-service-account';
export * from './grafana-service-account-token';
// issue #17
export * from './rotating-api-key';
export * from './credential-handler';
