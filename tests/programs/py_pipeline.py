"""py_pipeline.py - what real Python programs print, for ulogd's pipeline
(levels, lifting, multiline) in tests/integration/test_pipeline_corpus.py.

    py_pipeline.py logging    logging's default format, logging.exception,
                              a JSON formatter in python-json-logger's shape,
                              logfmt, a glog line, plain lines between errors
    py_pipeline.py uncaught   an uncaught ValueError (sys.excepthook)
    py_pipeline.py chained    an uncaught exception raised while handling
                              another, itself raised `from` a third

Every line comes from the library that prints it in real programs: the
logging module, json.dumps, the interpreter's own excepthook.
"""
import json
import logging
import sys


class JsonFormatter(logging.Formatter):
    """The record python-json-logger's JsonFormatter writes for the format
    "%(asctime)s %(levelname)s %(name)s %(message)s" plus `extra` fields."""

    def format(self, record):
        fields = {"asctime": self.formatTime(record), "levelname": record.levelname,
                  "name": record.name, "message": record.getMessage()}
        fields.update(getattr(record, "fields", {}))
        return json.dumps(fields)


def parse_port(text):
    return int(text)


def logging_mode():
    # logging's default format, "%(levelname)s:%(name)s:%(message)s", on stderr.
    logging.basicConfig(level=logging.DEBUG)
    db = logging.getLogger("app.db")
    logging.debug("cache warmed")
    logging.warning("disk almost full")
    db.error("connection lost")
    logging.info("retrying in 2 s")
    db.error("connection lost again")
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("payment failed")
    logging.info("after the exception")

    api = logging.getLogger("app.api")
    api.propagate = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    api.addHandler(handler)
    api.warning("slow request", extra={"fields": {"path": "/orders", "duration_ms": 1234}})

    # logfmt as go-kit, logrus (TextFormatter) and Heroku print it.
    print('time=2026-11-21T14:22:18.214Z level=error msg="disk full" disk=/dev/sda',
          flush=True)
    # glog / klog: severity letter, MMDD, time, thread id, file:line.
    print("E1121 14:22:18.214521  4242 server.cc:12] backend unreachable", file=sys.stderr,
          flush=True)
    print("plain line on stdout", flush=True)


def uncaught_mode():
    print("starting", file=sys.stderr, flush=True)
    parse_port("eighty")


def chained_mode():
    try:
        try:
            {}["port"]
        except KeyError as exc:
            raise RuntimeError("cannot read the configuration") from exc
    except RuntimeError:
        parse_port("eighty")


if __name__ == "__main__":
    {"logging": logging_mode, "uncaught": uncaught_mode, "chained": chained_mode}[sys.argv[1]]()
