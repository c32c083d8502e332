#!/usr/bin/env python3
"""fumidai benchmark: login latency under floods vs without, as ratios (issue 12).

    bench/run flood    build the release binary, then run this with it
    env: BENCH_LOGINS=9 BENCH_SILENT=1000 BENCH_GHOSTS=4 BENCH_KEEP=1

One `fumidai serve` (release build, default configuration: per-source cap 32, first TLS
byte within 5 s, failed-login budget 10 per certificate in 5 minutes), one vendor, one
fresh engineer per login (a TOTP step is accepted once). A login is stock `ssh` through
`fumidai connect`, password + TOTP by SSH_ASKPASS, timed from "Executing proxy command" to
"Authenticated to" minus the askpass gap (login_bench.py's SshRun).

FIGURES (medians of BENCH_LOGINS logins each, one after the other)
  alone     no flood
  silent    BENCH_SILENT (1000) TCP connections from 127.0.0.2 that never send a byte, kept
            up by one client reopening whatever the gateway closes (a sweep every 200 ms)
  ghosts    the same, plus BENCH_GHOSTS (4) clients looping `ssh ghostN@gw` with one
            engineer's certificate and unknown user names (the issue's "600 connections
            with an unknown user name"), started a few seconds before the timed logins
The ratios are silent/alone and ghosts/alone. Also printed: the ghosts' attempts, the
login.failure records their certificate left (bounded by the budget), the
login.budget_exhausted records, and the front door's closed-at-accept counters.
"""
import json, os, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import login_bench as lb  # noqa: E402  (shares argv[1], the binary)

LOGINS = int(os.environ.get("BENCH_LOGINS", "9"))
SILENT = int(os.environ.get("BENCH_SILENT", "1000"))
GHOSTS = int(os.environ.get("BENCH_GHOSTS", "4"))
KEEP = os.environ.get("BENCH_KEEP") == "1"


def silent_flood(port, n, stop, counters):
    """Holds n silent connections from 127.0.0.2, reopening the ones the gateway closed."""
    import socket
    socks = []
    while not stop.is_set():
        socks = [s for s in socks if not lb.closed_by_peer(s)] if socks else socks
        for _ in range(n - len(socks)):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            s.setblocking(False)
            socks.append(s)
            counters["opened"] += 1
        stop.wait(0.2)
    for s in socks:
        s.close()


def ghost_loop(gw, engineer, k, stop, counters):
    i = 0
    while not stop.is_set():
        gw.ssh(engineer, user=f"ghost{k}-{i}", password="Guess-Word-0000", code="000000", timeout=20)
        counters["ghost_attempts"] += 1
        i += 1


def timed_logins(gw, n):
    times, failed = gw.logins(n)
    return times, failed


def audit_counts(gw):
    rows = json.loads(gw.cli("--json", "audit", "tail", "-n", "100000"))
    failures = sum(1 for r in rows if r["kind"] == "login.failure"
                   and r["subject"].startswith("ghost"))
    exhausted = sum(1 for r in rows if r["kind"] == "login.budget_exhausted")
    return failures, exhausted


def main():
    tmp = tempfile.mkdtemp(prefix="fumidai-flood-bench-")
    gw = lb.Fumidai(tmp)
    gw.add_engineers(3 * LOGINS + 4)
    ghost_engineer = gw.pool[0]
    gw.start()
    try:
        gw.login()  # warm-up
        print(f"fumidai flood bench: {lb.machine_load()}")
        alone, failed_alone = timed_logins(gw, LOGINS)
        print(f"  alone   {lb.stats(alone)}, failed {failed_alone}")

        stop = threading.Event()
        counters = {"opened": 0, "ghost_attempts": 0}
        flood = threading.Thread(target=silent_flood, args=(gw.port, SILENT, stop, counters))
        flood.start()
        time.sleep(2)  # the flood is up and the gateway has closed what it closes at accept
        silent, failed_silent = timed_logins(gw, LOGINS)
        m = gw.metrics()
        print(f"  silent  {lb.stats(silent)}, failed {failed_silent}; {counters['opened']} silent "
              f"connections opened, gateway holds {int(m.get('fumidai_front_door_unauthenticated', -1))} "
              f"unauthenticated; {lb.machine_load()}")

        ghosts = [threading.Thread(target=ghost_loop, args=(gw, ghost_engineer, k, stop, counters))
                  for k in range(GHOSTS)]
        for t in ghosts:
            t.start()
        time.sleep(5)
        with_ghosts, failed_ghosts = timed_logins(gw, LOGINS)
        print(f"  ghosts  {lb.stats(with_ghosts)}, failed {failed_ghosts}; {lb.machine_load()}")
        stop.set()
        flood.join()
        for t in ghosts:
            t.join()
        m = gw.metrics()
        failures, exhausted = audit_counts(gw)
        key = 'fumidai_front_door_connections_total{outcome="%s"}'
        print(f"  ghost attempts {counters['ghost_attempts']}, their login.failure records {failures}, "
              f"login.budget_exhausted {exhausted}; closed at accept: over_source_capacity "
              f"{int(m.get(key % 'over_source_capacity', 0))}, over_capacity "
              f"{int(m.get(key % 'over_capacity', 0))}, first_byte_timeout "
              f"{int(m.get(key % 'first_byte_timeout', 0))}")
        a = lb.med(alone)
        print(f"RATIO login under 1000 silent connections / alone: {lb.med(silent) / a:.2f}")
        print(f"RATIO login under silent + unknown-user floods / alone: {lb.med(with_ghosts) / a:.2f}")
    finally:
        gw.stop()
        if not KEEP:
            subprocess.run(["rm", "-rf", tmp])
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
