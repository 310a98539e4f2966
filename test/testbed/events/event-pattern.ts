/**
 * EventBridge's matching, for the parts of the pattern language the library's
 * rules use: every pattern field must be present in the event; an array of
 * values matches when the event's value (or any element of an event array)
 * equals one of them; an object descends into the event's field. Anything
 * else (prefix, anything-but, numeric, exists, $or) is refused rather than
 * guessed at.
 */
export function matchesEventPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    if (field.startsWith('$')) throw new Error(`pattern operator ${field} is not modelled`);
    const actual = (event as Record<string, unknown>)[field];
    if (Array.isArray(expected)) {
      if (expected.some((e) => typeof e === 'object' && e !== null)) throw new Error(`pattern field ${field}: content filters are not modelled`);
      const values = Array.isArray(actual) ? actual : [actual];
      return actual !== undefined && values.some((v) => expected.some((e) => e === v));
    }
    if (typeof expected === 'object' && expected !== null) return matchesEventPattern(expected as Record<string, unknown>, actual);
    throw new Error(`pattern field ${field} is neither an array nor an object: EventBridge would refuse it`);
  });
}

/** A RotationFailed event as Secrets Manager delivers it through CloudTrail to EventBridge (shape as AWS documents and sends it). */
export function rotationFailedEvent(secretArn: string, opts: { account?: string; region?: string; eventName?: string; step?: string } = {}) {
  const account = opts.account ?? '111111111111';
  const region = opts.region ?? 'eu-west-1';
  return {
    'version': '0',
    'id': 'd82e0a2d-f36e-11fd-37cb-cba423a71196',
    'detail-type': 'AWS Service Event via CloudTrail',
    'source': 'aws.secretsmanager',
    account,
    'time': '2026-12-01T00:50:20Z',
    region,
    'resources': [],
    'detail': {
      eventVersion: '1.08',
      userIdentity: { accountId: account, invokedBy: 'secretsmanager.amazonaws.com' },
      eventTime: '2026-12-01T00:50:20Z',
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: opts.eventName ?? 'RotationFailed',
      awsRegion: region,
      sourceIPAddress: 'secretsmanager.amazonaws.com',
      userAgent: 'secretsmanager.amazonaws.com',
      errorMessage: `Error when executing lambda arn:aws:lambda:${region}:${account}:function:Handler during ${opts.step ?? 'testSecret'} step`,
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: secretArn },
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: account,
    },
  };
}
