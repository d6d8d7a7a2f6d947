"""app.py - a "legacy" Python web service of the example stack, written as if
ulog did not exist: a pre-fork server in the style of gunicorn (a master
that boots workers, each with its own pid) whose workers log every request
through the logging module, and now and then one that fails with a
traceback. It never touches ulog; its Dockerfile adopts ulog (way a).

The network is off (network_mode: none): requests are simulated, their
timing and outcome drawn from a seeded generator so a run looks busy and
varied. Every process names its own pid (pid=N) in some lines; the
end-to-end test compares those with the pid ulog records.
"""

import logging
import os
import random
import signal
import sys
import time

WORKERS = 2
ROUTES = (("GET", "/api/orders"), ("GET", "/api/orders/{id}"), ("POST", "/api/orders"),
          ("GET", "/api/customers/{id}"), ("GET", "/healthz"))

log = logging.getLogger("web")


class OrderNotFound(Exception):
    pass


def configure_logging():
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO,
        format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s")


def load_order(order_id):
    if order_id % 7 == 0:
        raise OrderNotFound(f"order {order_id} does not exist")
    return {"id": order_id}


def handle(rng, worker, request_no):
    method, route = rng.choice(ROUTES)
    path = route.replace("{id}", str(rng.randint(1000, 1100)))
    started = time.monotonic()
    status = 201 if method == "POST" else 200
    if request_no % 9 == 4:
        try:
            load_order(int(path.rsplit("/", 1)[-1]) if path[-1].isdigit() else 1407)
        except OrderNotFound:
            logging.getLogger("web.orders").exception("unhandled error in %s %s", method, path)
            status = 500
    time.sleep(rng.uniform(0.05, 0.3))
    elapsed = (time.monotonic() - started) * 1000
    print(f'10.0.0.{rng.randint(2, 250)} - - "{method} {path} HTTP/1.1" {status} '
          f'{rng.randint(80, 4000)} {elapsed:.0f}ms worker={worker} pid={os.getpid()}')


def worker_main(worker):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rng = random.Random(worker)
    log.info("worker %d ready pid=%d", worker, os.getpid())
    request_no = 0
    while True:
        request_no += 1
        handle(rng, worker, request_no)
        if request_no % 25 == 0:
            log.warning("slow queries in the last 25 requests: %d pid=%d",
                        rng.randint(1, 4), os.getpid())


def main():
    configure_logging()
    log.info("Starting web master pid=%d", os.getpid())
    log.info("Listening at: http://0.0.0.0:8000 (%d)", os.getpid())
    children = []
    for worker in range(1, WORKERS + 1):
        pid = os.fork()
        if pid == 0:
            try:
                worker_main(worker)
            finally:
                os._exit(0)
        log.info("Booting worker with pid: %d", pid)
        children.append(pid)

    def stop(*_):
        log.info("Handling signal: term; stopping workers pid=%d", os.getpid())
        for child in children:
            os.kill(child, signal.SIGTERM)
        for child in children:
            os.waitpid(child, 0)
        log.info("Shutting down: Master")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
