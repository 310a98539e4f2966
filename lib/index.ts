export * from './grafana-role';
export * from './credential-options';
export * from './workspace-api-key';
export * from './workspace-service-account';
export * from './workspace-service-account-token';
// issue #17
export * from './rotating-api-key';
