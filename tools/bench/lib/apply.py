#!/usr/bin/python3
"""Timing helpers for config applies.

  apply.py run -- CMD...       run CMD, print its wall time in seconds (exit status of CMD)
  apply.py sluice --dir D --ready F --genconf G --services N --pods IPS --target-pods IPS
                               rewrite D/target.yaml and print seconds until F's mtime changes
  apply.py wait --ready F [--pid P]   wait until F exists (while P lives)
  apply.py port --host IP --port P   wait until something listens on IP:P (run it in the netns)
"""
import argparse
import os
import socket
import subprocess
import sys
import time


def run(cmd):
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    elapsed = time.monotonic() - t0
    if rc != 0:
        sys.exit(rc)
    print("%.6f" % elapsed)


def mtime_ns(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_change(path, before, deadline, pid=None):
    # 1 ms polling: the agent reports through a file, and apply times of interest are >= 1 ms.
    while time.monotonic() < deadline and (pid is None or alive(pid)):
        now = mtime_ns(path)
        if now is not None and now != before:
            return True
        time.sleep(0.001)
    return False


def sluice(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.genconf)))
    import genconf  # noqa: E402 (path set above)
    before = mtime_ns(args.ready)
    yaml = genconf.k8s_service(*genconf.services(args.services, args.pods, args.target_pods)[-1])
    t0 = time.monotonic()
    genconf.write_atomically(os.path.join(args.dir, "target.yaml"), yaml)
    if not wait_change(args.ready, before, t0 + args.timeout):
        sys.exit("ready file %s did not change within %ss" % (args.ready, args.timeout))
    print("%.6f" % (time.monotonic() - t0))


def port(args):
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((args.host, args.port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("nothing listens on %s:%d" % (args.host, args.port))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "run" and sys.argv[2] == "--":
        run(sys.argv[3:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sluice")
    s.add_argument("--dir", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--genconf", required=True)
    s.add_argument("--services", type=int, required=True)
    s.add_argument("--pods", type=lambda v: v.split(","), required=True)
    s.add_argument("--target-pods", type=lambda v: v.split(","), required=True)
    s.add_argument("--timeout", type=float, default=30)
    w = sub.add_parser("wait")
    w.add_argument("--ready", required=True)
    w.add_argument("--timeout", type=float, default=60)
    w.add_argument("--pid", type=int, help="give up as soon as this process (the agent) is gone")
    o = sub.add_parser("port")
    o.add_argument("--host", required=True)
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    if args.cmd == "sluice":
        sluice(args)
    elif args.cmd == "wait":
        if not wait_change(args.ready, None, time.monotonic() + args.timeout, args.pid):
            sys.exit("%s did not appear within %ss (or the process exited)" % (args.ready, args.timeout))
    else:
        port(args)


if __name__ == "__main__":
    main()
