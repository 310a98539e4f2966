export * from './grafana-role';
export * from './workspace-api-key';
