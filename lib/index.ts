export * from './grafana-role';
export * from './credential-options';
export * from './grafana-credential';
export * from './workspace-api-key';
export * from './workspace-service-account';
export * from './workspace-service-account-token';
export * from './credential-handler';
