"""py_output.py - print, sys.stdout.write and the logging module.

Exits with the status given as its argument, so the test can check that it
passes through `ulog run`. Run with and without PYTHONUNBUFFERED=1.
"""
import logging
import sys

for i in range(200):
    print(f"print line {i:03d}")
print("print to stderr", file=sys.stderr)
sys.stdout.write("a line in ")
sys.stdout.write("two writes\n")
logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("app.db")
log.info("logging info %d", 1)
log.warning("logging warning")
log.error("logging error")
print("last print line")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
