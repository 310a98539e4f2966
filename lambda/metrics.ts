/**
 * CloudWatch metrics in Embedded Metric Format: one JSON line with an `_aws`
 * member, which CloudWatch Logs turns into metrics. Only names, steps, causes
 * and numbers go into a line; never a token.
 */
import { METRICS } from '../lib/private/contract';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  readonly unit: 'Seconds' | 'Count' | 'None';
}

/**
 * Where EMF lines go. Lambda's console.log prefixes each line with a timestamp
 * and request id (text log format), and CloudWatch only extracts metrics from
 * a line that is JSON, so the line is written to stdout as it is.
 */
export type LineWriter = (line: string) => void;
export const stdoutWriter: LineWriter = (line) => { process.stdout.write(`${line}\n`); };

/**
 * The EMF line for `values` under `dimensions`. `dimensionSets` lists which
 * combinations of the dimensions CloudWatch records a metric under (each
 * combination is its own metric).
 */
export function emfLine(dimensions: Readonly<Record<string, string>>, dimensionSets: ReadonlyArray<readonly string[]>, values: readonly MetricValue[], now = Date.now()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{
        Namespace: METRICS.namespace,
        Dimensions: dimensionSets,
        Metrics: values.map(({ name, unit }) => ({ Name: name, Unit: unit })),
      }],
    },
    ...dimensions,
    ...Object.fromEntries(values.map(({ name, value }) => [name, value])),
  });
}

/** The secret's name from its ARN (Secrets Manager appends '-' and 6 characters to the name), or the id as given. */
export function secretNameOf(secretId: string): string {
  const match = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)-[A-Za-z0-9]{6}$/.exec(secretId);
  return match ? match[1] : secretId;
}
