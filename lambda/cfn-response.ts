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
/** Kept back from the function's remaining time, so that Lambda does not end the process in the middle of a PUT. */
const RESERVE_MS = 500;
/** The shortest attempt worth making: a retry that could not get this long is not started. */
const MIN_ATTEMPT_MS = 1000;

/**
 * PUTs the answer, retrying transient failures a bounded number of times and
 * never past the function's own deadline (`remainingMs`, from the Lambda
 * context): an answer still being retried when Lambda ends the process is lost.
 */
export async function sendAnswer(event: CloudFormationCustomResourceEvent, answer: CfnAnswer, remainingMs: () => number = () => Infinity): Promise<void> {
  const body = responseBody(event, answer);
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = Math.max(MIN_ATTEMPT_MS, Math.min(TIMEOUT_MS, remainingMs() - RESERVE_MS));
    try {
      await put(event.ResponseURL, body, timeoutMs);
      log('info', 'answered CloudFormation', {
        status: answer.status,
        physicalResourceId: answer.physicalResourceId,
        logicalResourceId: event.LogicalResourceId,
        requestId: event.RequestId,
        bytes: Buffer.byteLength(body),
      });
      return;
    } catch (err) {
      const backoffMs = 250 * 2 ** attempt;
      const timeLeft = attempt < ATTEMPTS && remainingMs() - RESERVE_MS - backoffMs >= MIN_ATTEMPT_MS;
      log('warn', 'answering CloudFormation failed', {
        attempt, error: describeError(err), requestId: event.RequestId,
        ...(timeLeft ? {} : { retrying: false, why: attempt < ATTEMPTS ? 'the function is about to time out' : 'no attempts left' }),
      });
      if (!timeLeft) throw err;
      await new Promise((r) => setTimeout(r, backoffMs));
    }
  }
}

function put(url: string, body: string, timeoutMs: number): Promise<void> {
  const target = new URL(url);
  const transport = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(target, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      timeout: timeoutMs,
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
