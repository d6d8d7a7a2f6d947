// server.js - a "legacy" Node API service of the example stack, written as if
// ulog did not exist: the cluster module's primary forks a worker (its own
// pid), both log JSON lines in the style of pino ({"level":30,"time":...,
// "msg":...}) on stdout, and warnings and errors as plain text on stderr, as
// console.warn / console.error do. Its image knows nothing of ulog; compose
// adopts it (way b: the shim from a volume, LD_PRELOAD in the environment).
//
// The network is off (network_mode: none): requests are simulated. Every
// process names its own pid (pid=N) in some lines; the end-to-end test
// compares those with the pid ulog records.
'use strict';

const cluster = require('cluster');
const os = require('os');

function log(level, msg, extra) {
  const line = { level, time: Date.now(), pid: process.pid, hostname: os.hostname(), msg };
  console.log(JSON.stringify(Object.assign(line, extra || {})));
}

if (cluster.isPrimary) {
  log(30, `primary started pid=${process.pid}`, { node: process.version });
  const worker = cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    console.warn(`worker ${w.process.pid} exited (code ${code}, signal ${signal})`);
  });
  process.on('SIGTERM', () => {
    log(30, `SIGTERM: stopping pid=${process.pid}`);
    worker.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200);
  });
} else {
  const routes = ['/v1/carts', '/v1/carts/:id', '/v1/checkout', '/v1/inventory'];
  let served = 0;
  log(30, `worker listening on :3000 pid=${process.pid}`);
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {
    served += 1;
    const route = routes[served % routes.length];
    const ms = 5 + ((served * 37) % 180);
    if (served % 6 === 0) {
      console.error(`Error: upstream inventory timed out after ${ms}ms (${route}) pid=${process.pid}`);
      log(50, 'request failed', { route, status: 504, responseTime: ms });
    } else {
      log(30, 'request completed', { route, status: 200, responseTime: ms, reqId: served });
    }
    if (served % 10 === 0) {
      console.warn(`Warning: event loop lag ${ms % 40}ms pid=${process.pid}`);
    }
  }, 250);
}
