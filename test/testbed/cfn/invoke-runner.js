// Runs one Lambda invocation of a handler asset in its own process, as Lambda
// would: loads the module, builds a context whose remaining time counts down
// from the function's timeout, and calls the handler. Exit code 0 means the
// handler returned; 1 means it threw (the error's message goes to stderr
// behind a marker). The parent kills the process at the timeout.
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const [file, exportName] = job.handler.split('.');
  const candidates = ['.mjs', '.js', '.cjs'].map((ext) => path.join(job.assetDir, file + ext));
  const entry = candidates.find((c) => fs.existsSync(c));
  if (!entry) throw new Error(`handler module ${file} not found in ${job.assetDir}`);
  const mod = await import(pathToFileURL(entry).href);
  const handler = mod[exportName] ?? mod.default?.[exportName];
  const deadline = Date.now() + job.timeoutMs;
  const context = {
    awsRequestId: job.requestId,
    functionName: job.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${job.functionName}`,
    memoryLimitInMB: '256',
    logGroupName: `/aws/lambda/${job.functionName}`,
    logStreamName: 'testbed',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  await handler(job.event, context);
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`\n__INVOCATION_ERROR__${JSON.stringify({ name: err && err.name, message: err && err.message })}\n`);
  process.exit(1);
});
