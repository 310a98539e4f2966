/** The commands of the API Gateway SDK client the handler uses (see ./grafana.ts for why a module of its own). */
export {
  APIGatewayClient, CreateApiKeyCommand, GetApiKeyCommand, GetApiKeysCommand, DeleteApiKeyCommand,
  CreateUsagePlanKeyCommand, GetUsagePlanKeyCommand, DeleteUsagePlanKeyCommand,
} from '@aws-sdk/client-api-gateway';
