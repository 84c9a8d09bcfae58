"""Child-process entry that serves one moto server on 127.0.0.1 until its standard input closes.

The parent reads one line ``READY <port>`` from our stdout (no polling, no sleep),
and stops us by closing our stdin; if the parent dies, the pipe closes too, so the
server is never left running.
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    # Ctrl-C reaches the whole process group; the parent decides when we stop (it closes our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from moto.server import ThreadedMotoServer

    # Port 0: the kernel picks a free port at bind time (no race between choosing and binding).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or exited
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
