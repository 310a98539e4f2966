/**
 * The CloudFormation custom-resource protocol: the answer is a PUT of a JSON
 * document to the event's pre-signed ResponseURL. Answers are capped at 4,096
 * bytes by CloudFormation, so an over-long Reason is cut, never the ids.
 */
import * as http from 'http';
import * as https from 'https';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { log, describeError } from './log';

export const MAX_RESPONSE_BYTES = 4096;

export interface CfnAnswer {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly physicalResourceId: string;
  readonly reason?: string;
  readonly data?: Record<string, string>;
}

export function responseBody(event: CloudFormationCustomResourceEvent, answer: CfnAnswer): string {
  const build = (reason: string | undefined) => JSON.stringify({
    Status: answer.status,
    Reason: reason,
    PhysicalResourceId: answer.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: true,
    Data: answer.data,
  });
  let body = build(answer.reason);
  if (Buffer.byteLength(body) <= MAX_RESPONSE_BYTES || !answer.reason) return body;
  // Cut the reason by bytes, not characters: keep as much of its beginning as fits, whole characters only.
  const suffix = ' [truncated]';
  let budget = MAX_RESPONSE_BYTES - Buffer.byteLength(build('')) - Buffer.byteLength(suffix);
  for (let i = 0; i < 8 && budget > 0; i++) {
    const cut = Buffer.from(answer.reason, 'utf8').subarray(0, budget).toString('utf8').replace(/\uFFFD+$/, '');
    body = build(cut + suffix);
    const over = Buffer.byteLength(body) - MAX_RESPONSE_BYTES;
    if (over <= 0) return body;
    budget -= over; // JSON escaping made it longer than its bytes: cut again
  }
  return build(suffix.trim());
}

const ATTEMPTS = 4;
const TIMEOUT_MS = 8000;

/** PUTs the answer, retrying transient failures a bounded number of times. */
export async function sendAnswer(event: CloudFormationCustomResourceEvent, answer: CfnAnswer): Promise<void> {
  const body = responseBody(event, answer);
  for (let attempt = 1; ; attempt++) {
    try {
      await put(event.ResponseURL, body);
      log('info', 'answered CloudFormation', {
        status: answer.status,
        physicalResourceId: answer.physicalResourceId,
        logicalResourceId: event.LogicalResourceId,
        requestId: event.RequestId,
        bytes: Buffer.byteLength(body),
      });
      return;
    } catch (err) {
      log('warn', 'answering CloudFormation failed', { attempt, error: describeError(err), requestId: event.RequestId });
      if (attempt >= ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

function put(url: string, body: string): Promise<void> {
  const target = new URL(url);
  const transport = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(target, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      timeout: TIMEOUT_MS,
    }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve();
        else reject(new Error(`ResponseURL answered HTTP ${res.statusCode}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('ResponseURL timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
