// Preloaded into each handler process (NODE_OPTIONS=--require) so that the
// handler's Date.now() follows the test bed's simulated clock. The offset
// between simulated and real time arrives with each invocation, in the
// environment variable below, and is read at every call.
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + Number(process.env.TESTBED_CLOCK_OFFSET_MS || 0);
