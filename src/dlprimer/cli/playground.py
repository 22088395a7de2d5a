"""``dlprimer playground``: TensorFlow Playground's page in the browser, training with
dlprimer's own ``dp.fit`` on your CSV, a bundled data set or one of the 2-D toys.

    dlprimer playground                          the circle toy
    dlprimer playground --data iris              a bundled data set
    dlprimer playground --data my.csv --target y --no-browser

The first line printed is the page's URL, with the random token every request needs.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import webbrowser

from dlprimer.cli.data import UsageError, is_file_spec

__all__ = ["add_parser", "cmd_playground"]


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in [0, 65535] (0: any free "
                                         f"port), got {text!r}")
    return value


def add_parser(commands) -> None:
    """Register ``dlprimer playground`` with the command's sub-parsers."""
    p = commands.add_parser(
        "playground", help="train in the browser: TF Playground on dlprimer's engine",
        description="A local page where a network learns while you watch: decision regions, "
                    "neurons, weights, loss curves and the primer's equations for any point, "
                    "on your CSV, a bundled data set or TF Playground's 2-D toys. Training "
                    "is the real dp.fit; the model and the code that reproduces the run "
                    "can be exported.")
    p.add_argument("--data", help="a CSV file with a header row, or a bundled data set name "
                                  "(see `dlprimer datasets`) (default: the circle toy)")
    p.add_argument("--target", help="the CSV's target column (default: its last column)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=port_number, default=0,
                   help="the port to listen on (default: 0, any free port)")
    p.add_argument("--no-browser", action="store_true",
                   help="print the URL only; do not open a browser")
    p.set_defaults(run=cmd_playground, prog=p.prog)


def _data(args):
    from dlprimer.playground.data import BUNDLED, bundled, from_csv

    if args.data is None:
        if args.target is not None:
            raise UsageError("--target names a column of --data; give --data my.csv too")
        return None
    if is_file_spec(args.data):
        return from_csv(args.data, args.target)
    if args.target is not None:
        raise UsageError(f"--target applies to files; {args.data!r} is a bundled data set")
    if args.data not in BUNDLED:
        raise UsageError(f"unknown data set {args.data!r}; bundled: {', '.join(BUNDLED)} (or "
                         "a CSV file such as my.csv)")
    return bundled(args.data)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def cmd_playground(args) -> int:
    from dlprimer.playground import Playground, serve

    playground = Playground(_data(args))
    try:
        server = serve(playground, args.host, args.port)
    except OSError as err:
        playground.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: "
                         f"{err.strerror or err}") from None
    print(server.url, flush=True)
    data = playground.data
    print(f"dlprimer playground: {data.name} ({data.n} rows, {data.task}); the page trains "
          "with dp.fit on this machine. Press Ctrl+C to stop.", flush=True)
    if not _loopback(args.host):
        print(f"dlprimer: warning: listening on {args.host}: anyone who can reach this "
              "address and has the URL can use the page", file=sys.stderr)
    if not args.no_browser:  # a console browser may block: never hold up the server
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.close()
    return 0
