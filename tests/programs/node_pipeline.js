// node_pipeline.js - what real Node programs print, for ulogd's pipeline
// (levels, lifting, multiline) in tests/integration/test_pipeline_corpus.py:
// console.error(err) with its "    at" frames, a line in pino's JSON shape,
// a plain line, then an uncaught `throw new Error("boom")`, which Node
// reports as the source line and caret, the Error with its frames and the
// "Node.js vNN" trailer, and exits with status 1.
const os = require('os');

function connect(host) {
  return new Error(`cannot connect to ${host}`);
}

console.error(connect('db.internal'));
// pino's default output: numeric level (50 = error), epoch milliseconds.
console.log(JSON.stringify({ level: 50, time: Date.now(), pid: process.pid,
                             hostname: os.hostname(), msg: 'payment service down' }));
console.error('retrying without the cache');
throw new Error('boom');
