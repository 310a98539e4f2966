/**
 * The commands of the Amazon Managed Grafana SDK client the handler uses. The
 * handler imports this module, not the package, so that the bundle's chunk
 * holds these commands only (see scripts/bundle-handler.js); tsc checks that
 * every name used is here.
 */
export {
  GrafanaClient, CreateWorkspaceApiKeyCommand, DeleteWorkspaceApiKeyCommand, DescribeWorkspaceCommand,
  CreateWorkspaceServiceAccountCommand, DeleteWorkspaceServiceAccountCommand, ListWorkspaceServiceAccountsCommand,
  CreateWorkspaceServiceAccountTokenCommand, DeleteWorkspaceServiceAccountTokenCommand, ListWorkspaceServiceAccountTokensCommand,
} from '@aws-sdk/client-grafana';
