/** The commands of the Secrets Manager SDK client the handler uses (see ./grafana.ts for why a module of its own). */
export {
  SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, UpdateSecretVersionStageCommand,
  ListSecretVersionIdsCommand, ListSecretsCommand, RestoreSecretCommand, DeleteSecretCommand,
} from '@aws-sdk/client-secrets-manager';
