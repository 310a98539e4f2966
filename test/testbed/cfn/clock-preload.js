// Preloaded into each handler process (NODE_OPTIONS=--require) so that the
// handler's Date.now() follows the test bed's simulated clock: the stand-ins
// pass the offset between simulated and real time at each invocation.
const offset = Number(process.env.TESTBED_CLOCK_OFFSET_MS || 0);
if (offset) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + offset;
}
