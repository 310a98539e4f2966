/** A Grafana role granted to an API key or a service account. */
export enum GrafanaRole {
  /** Full administrative access to the workspace. */
  ADMIN = 'ADMIN',
  /** Can create and edit dashboards, alerts and folders. */
  EDITOR = 'EDITOR',
  /** Read-only access. The default: least privilege. */
  VIEWER = 'VIEWER',
}
