// One Lambda execution environment for one invocation, as a process of its own.
// Init: loads the handler module (argv: assetDir, handler), then says 'ready'.
// Invoke: on each 'job' message (several when the parent reuses the environment), builds a context whose remaining time
// counts down from the function's timeout and calls the handler. Exit code 0
// means the handler returned; 1 means it threw (its message goes to stderr
// behind a marker). The parent kills the process at the timeout.
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const [assetDir, handlerSpec] = process.argv.slice(2);

async function init() {
  const [file, exportName] = handlerSpec.split('.');
  const entry = ['.mjs', '.js', '.cjs'].map((ext) => path.join(assetDir, file + ext)).find((c) => fs.existsSync(c));
  if (!entry) throw new Error(`handler module ${file} not found in ${assetDir}`);
  const mod = await import(pathToFileURL(entry).href);
  return mod[exportName] ?? (mod.default && mod.default[exportName]);
}

function fail(err) {
  process.stderr.write(`\n__INVOCATION_ERROR__${JSON.stringify({ name: err && err.name, message: err && err.message })}\n`);
  process.exit(1);
}

init().then((handler) => {
  process.on('message', (job) => {
    Object.assign(process.env, job.env || {});
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
    const done = () => (job.keepAlive ? process.send({ ok: true }) : process.exit(0));
    const failed = (err) => (job.keepAlive ? process.send({ ok: false, error: { name: err && err.name, message: err && err.message } }) : fail(err));
    Promise.resolve().then(() => handler(job.event, context)).then(done, failed);
  });
  process.send('ready');
}, fail);
