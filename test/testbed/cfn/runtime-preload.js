// Preloaded into each handler process (NODE_OPTIONS=--require); test bed only.
//
// 1. The handler's Date.now() follows the test bed's simulated clock. The
//    offset between simulated and real time arrives with each invocation, in
//    TESTBED_CLOCK_OFFSET_MS, and is read at every call.
// 2. TLS trusts the stand-ins' certificate authority (TESTBED_CA_CERT), so the
//    handler's HTTPS check of a key really verifies the stand-in's certificate.
//    Done here rather than with NODE_EXTRA_CA_CERTS because Node 20 parses the
//    whole bundled root store at the start of every process that sets it
//    (about 25 ms of CPU each, measured), which a soak of thousands of
//    one-invocation processes cannot afford. Trust is added only when a TLS
//    context is made without its own `ca`, so verification stays on: a
//    certificate from any other authority is still refused.
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + Number(process.env.TESTBED_CLOCK_OFFSET_MS || 0);

const caPath = process.env.TESTBED_CA_CERT;
if (caPath) {
  const tls = require('tls');
  const createSecureContext = tls.createSecureContext;
  let ca;
  tls.createSecureContext = function testbedSecureContext(options) {
    if (options && options.ca) return createSecureContext(options);
    ca = ca || require('fs').readFileSync(caPath, 'utf8');
    return createSecureContext({ ...options, ca });
  };
}
