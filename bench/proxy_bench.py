#!/usr/bin/env python3
"""fumidai benchmark: the SSH proxy (throughput, setup time, keystroke latency, memory per
session, memory under load, back-to-back transfers), each next to plain OpenSSH measured in
the same run against the same throwaway sshd on loopback. Not a test: it prints figures, and
ratios to OpenSSH, for an issue note, and writes them as JSON.

    bench/run proxy [-n 3] [--sessions 200] [--json FILE] [--keep]

THE SCENE. One sshd (Debian's, public-key login as root; the target `db01`) and one
`fumidai serve`, release build, run as deploy/fumidai.service runs it
(MALLOC_MMAP_THRESHOLD_=1048576). Vendor `bench`, engineers `e0`, `e1`, ... each with a
certificate (a TOTP code is accepted once per account, so every login below is by an
engineer who has not logged in yet), operator `olga`, and one approved plan for all of them
on db01 with `--allow upload --allow download` and every content kind declared (legacy
`scp -O` uploads need that). Through fumidai means stock `ssh` with
`ProxyCommand fumidai connect ...`, user `ENGINEER:db01`, password + TOTP answered by an
SSH_ASKPASS script; recording is always on (a non-pty channel's bytes go to a `.data` side
file, sealed when the channel ends). Direct means `ssh -i KEY root@127.0.0.1 -p PORT`.
Both use OpenSSH's default algorithms.

FIGURES
 1. Throughput: 1 GiB up (`ssh H 'wc -c' < FILE`, the count is checked) and down
    (`ssh H 'cat FILE'`, bytes counted here) over a ControlMaster connection (one login; each
    transfer is a new channel, so only the transfer is timed). MiB/s, median of N, direct and
    fumidai interleaved. Where the time goes: on this 2-core box ssh, fumidai connect,
    fumidai serve and sshd all encrypt on the same cores (direct: ssh and sshd only), so per
    run the CPU time of each process on the path is read from /proc (s per GiB), with the
    machine's CPU use. Diagnostic: a third ControlMaster relays through `openssl s_client`
    instead of `fumidai connect` (same gateway), which tells the relay's cost from the
    gateway's. All SSH legs negotiate chacha20-poly1305 (OpenSSH's and russh's first
    choice); TLS 1.3 is AES-GCM.
 2. Setup: a whole `ssh H true` run (process start to exit), direct vs fumidai, median;
    fumidai's keyboard-interactive typing (the askpass gap, as in login_bench.py) is
    subtracted. Split into login (start -> authenticated, from ssh -vvv) and the rest
    (admission, connection to the target, `true`, exit).
 3. Keystroke echo: `ssh -tt H 'stty raw -echo; cat'`, one byte written to ssh's stdin, time
    until it comes back on stdout (cat echoes it as a shell would); direct and fumidai
    sessions open side by side and sampled alternately. p50/p99 and fumidai's added p99.
 4. 200 concurrent interactive sessions (`ssh -tt H`, a login shell each, idle once the
    shell answered `echo`): VmRSS of fumidai serve (freshly restarted, one warm-up session)
    before, with all open, and after they closed -> KiB per session; then a second round of
    200 on the same process (no growth over round 1 = retention, not a leak). The same with direct
    sessions against sshd: PSS of all its sshd processes (listener, [priv] and user
    processes per session; the shells are the target's, not counted for either).
 5. VmRSS of fumidai serve sampled every 50 ms during each 1 GiB upload (and download) of
    figure 1: peak growth over the value just before the transfer.
 6. 50 back-to-back transfers of 20 MiB, alternating direction and scp mode (SFTP upload,
    SFTP download, legacy upload, legacy download) over one ControlMaster connection,
    SHA-256 of every copy checked; direct and fumidai. Count intact and time.
 7. 1 GiB through stock `sftp` (put, then get), direct vs fumidai, median of min(N, 3): the SFTP
    inspector's cost (staged upload renamed into place, bytes in the recording's side file).
The load average and any compiler running next to us are printed with each part (others
build on this machine: re-run if busy). The gateway's log is scanned for warnings at the end.
"""
import argparse, concurrent.futures, datetime, hashlib, json, os, re, shutil, selectors, subprocess, sys, tempfile
import threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import login_bench as lb  # noqa: E402  (helpers: SshRun, totp, rss/pss, load, Fumidai)

FUMIDAI = lb.FUMIDAI
PASSWORD = lb.PASSWORD
# OpenSSH `Ciphers` for logins through fumidai (--front-ciphers); None: the client's order.
FRONT_CIPHERS = None
TARGET = "db01"
MMAP_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576"}  # as deploy/fumidai.service
BASE = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR"]


# ---------------------------------------------------------------------------------------
# the target and the gateway

class Target:
    """A throwaway sshd on loopback, as tests/src/sshd.rs starts it (root, public key)."""

    def __init__(self, tmp):
        os.makedirs(tmp)
        self.tmp = tmp
        self.port = lb.free_port()
        key = os.path.join(tmp, "hostkey")
        lb.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
        with open(key + ".pub") as f:
            self.host_key = " ".join(f.read().split()[:2])
        self.client_key = os.path.join(tmp, "client")
        lb.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.client_key)
        shutil.copy(self.client_key + ".pub", os.path.join(tmp, "authorized_keys"))
        cfg = os.path.join(tmp, "sshd_config")
        with open(cfg, "w") as f:
            # MaxStartups raised so the 200 logins below never meet sshd's random early drop
            # (a target setting, the same for direct and fumidai).
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {tmp}/sshd.pid\n"
                    f"AuthorizedKeysFile {tmp}/authorized_keys\nStrictModes no\nUsePAM no\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\n"
                    "MaxStartups 100:30:300\nMaxSessions 20\nLogLevel VERBOSE\n")
        os.makedirs("/run/sshd", exist_ok=True)
        with open(os.path.join(tmp, "sshd.log"), "w") as log:
            self.proc = subprocess.Popen([lb.SSHD, "-D", "-e", "-f", cfg], stderr=log)
        lb.wait_port(self.port)

    def args(self):
        """ssh options and destination for a direct login."""
        return ["-i", self.client_key, "-o", "BatchMode=yes", "-p", str(self.port), "root@127.0.0.1"]

    def pss(self):
        """PSS of the listener and every sshd process below it (per-session [priv] and user
        processes), in KiB; shells and commands they run are not counted."""
        total, todo = 0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm.startswith("sshd"):
                total += lb.pss_kib(pid)
                todo += lb.children(pid)
        return total

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Gateway(lb.Fumidai):
    def add_engineers(self, n, parallel=4):
        """n engineers with certificates, created by the CLI, `parallel` at a time."""
        logins = [f"e{self.created + i}" for i in range(n)]
        self.created += n
        made, errors = [], []

        def one(login):
            try:
                out = json.loads(self.cli("--json", "engineer", "add", login, "--vendor", "bench",
                                          "--password-stdin", stdin=PASSWORD + "\n"))
                self.first_login_done(login)
                certs = os.path.join(self.tmp, f"certs-{login}")
                self.cli("cert", "issue", login, "--out", certs)
                made.append((login, out["totp_secret"], certs))
            except subprocess.CalledProcessError as e:
                errors.append(f"{login}: {e.stderr.strip()}")

        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, logins))
        if errors:
            raise SystemExit("bench: engineer add failed: " + "; ".join(errors[:3]))
        made.sort(key=lambda e: int(e[0][1:]))
        self.pool[:0] = made[::-1]  # engineer() pops from the end: e0 first
        return [e[0] for e in made]

    def fresh(self):
        if not self.pool:
            raise SystemExit("bench: ran out of engineers")
        return self.pool.pop()

    def client(self, engineer, tmp, relay="fumidai"):
        """(ssh options and destination, environment) for a login by `engineer` through the
        gateway to db01; the askpass script answers with the current code."""
        login, secret, certs = engineer
        code = lb.totp(secret, int(time.time()) // 30)
        askpass = os.path.join(tmp, f"askpass-{login}.sh")
        with open(askpass, "w") as f:
            f.write(f"#!/bin/sh\ncase \"$1\" in *assword*) echo '{PASSWORD}';; *) echo '{code}';; esac\n")
        os.chmod(askpass, 0o700)
        proxy = (f"{FUMIDAI} connect 127.0.0.1:{self.port} --cert {certs}/{login}.crt --key {certs}/{login}.key "
                 f"--ca {certs}/ca.crt")
        if relay == "openssl":
            proxy = (f"openssl s_client -quiet -verify_quiet -tls1_3 -connect 127.0.0.1:{self.port} "
                     f"-servername localhost -alpn ssh -cert {certs}/{login}.crt -key {certs}/{login}.key "
                     f"-CAfile {certs}/ca.crt")
        args = ["-o", f"ProxyCommand={proxy}", "-o", "PreferredAuthentications=keyboard-interactive",
                "-o", "NumberOfPasswordPrompts=1", "-o", f"User={login}:{TARGET}"]
        if FRONT_CIPHERS:
            args += ["-o", f"Ciphers={FRONT_CIPHERS}"]
        args.append("gw")
        env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        return args, env

    def ssh_connections(self):
        return int(self.metrics().get("fumidai_ssh_connections", -1))


# ---------------------------------------------------------------------------------------
# measuring helpers

class Master:
    """An OpenSSH ControlMaster connection (one login); commands run as channels on it."""

    def __init__(self, name, args, env, tmp):
        self.path = os.path.join(tmp, f"ctl-{name}")
        self.log = os.path.join(tmp, f"master-{name}.log")
        self.env = env
        self.proc = subprocess.Popen(BASE + ["-v", "-E", self.log, "-o", "ControlMaster=yes", "-o",
                                             f"ControlPath={self.path}", "-N"] + args,
                                     env=env, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while self.run_args(["-O", "check"], check=False).returncode != 0:
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"bench: ControlMaster {name} failed to start: {self.why()}")
            time.sleep(0.1)

    def mux(self):
        """Options for a client of this master (fails rather than logging in again)."""
        return ["-o", f"ControlPath={self.path}", "-o", "ControlMaster=no", "-o", "BatchMode=yes"]

    def run_args(self, extra, check=True, **kw):
        return subprocess.run(BASE + self.mux() + extra + ["mux"], capture_output=True, check=check, **kw)

    def cipher(self):
        with open(self.log, errors="replace") as f:
            m = re.search(r"kex: server->client cipher: (\S+)", f.read())
        return m.group(1) if m else "?"

    def why(self):
        try:
            with open(self.log, errors="replace") as f:
                return " | ".join(l.strip() for l in f if not l.startswith("debug"))[:400]
        except OSError:
            return "(no log)"

    def close(self):
        subprocess.run(BASE + self.mux() + ["-O", "exit", "mux"], capture_output=True)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Sampler:
    """VmRSS of a process every `every` seconds, in a thread, while a `with` block runs."""

    def __init__(self, pid, every=0.05):
        self.pid, self.every, self.samples = pid, every, []
        self.stop = threading.Event()

    def __enter__(self):
        self.before = lb.rss_kib(self.pid)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def loop(self):
        while not self.stop.is_set():
            self.samples.append(lb.rss_kib(self.pid))
            self.stop.wait(self.every)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.samples.append(lb.rss_kib(self.pid))

    @property
    def growth(self):
        return max(self.samples) - self.before


def cpu_s(pid):
    """User + system CPU time of a process (all its threads), in seconds; 0 once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def path_processes(gw, target, master):
    """The long-lived processes a transfer over `master` goes through, by role: ssh (the
    master), fumidai connect (its ProxyCommand), fumidai serve, and sshd (every sshd
    process; the transfer's own `wc`/`cat` exits before it can be read, for both kinds)."""
    relay = lb.children(master.proc.pid)
    roles = {"ssh": [master.proc.pid], f"{comm(relay[0]) if relay else ''} relay": relay}
    roles["fumidai serve"] = [gw.proc.pid] if relay else []
    sshd, todo = [], [target.proc.pid]
    while todo:
        pid = todo.pop()
        sshd.append(pid)
        todo += [c for c in lb.children(pid) if comm(c).startswith("sshd")]
    roles["sshd"] = sshd
    return {k: v for k, v in roles.items() if v}


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def machine_cpu():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def remove_recordings(gw):
    """Deletes the `.data` side files of finished channels (1 GiB each) so the runs don't
    fill the disk; waits until each is sealed (the seal reads it) - a file not written for
    2 s is taken as sealed."""
    root = os.path.join(gw.data, "recordings")
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            if name.endswith(".data") and os.path.getsize(path) > 64 << 20:
                while time.time() - os.path.getmtime(path) < 2:
                    time.sleep(0.2)
                os.unlink(path)


# ---------------------------------------------------------------------------------------
# 1 + 5: throughput and memory under load

def part1(gw, target, masters, big, size, runs, res):
    print(f"\n1. throughput, {size >> 20} MiB each way, median of {runs} ({lb.machine_load()})")
    print(f"   ciphers: direct ssh->sshd {masters['direct'].cipher()}, fumidai ssh->gateway "
          f"{masters['fumidai'].cipher()} (gateway->sshd: russh's first choice)")
    out = {k: {"up": [], "down": [], "cpu_s_per_gib": {"up": [], "down": []}, "cpu_busy": {"up": [], "down": []},
               "rss_growth_kib": {"up": [], "down": []}} for k in masters}

    def one(kind, direction):
        m = masters[kind]
        roles = path_processes(gw, target, m)
        cpu0, mc0 = {k: sum(map(cpu_s, v)) for k, v in roles.items()}, machine_cpu()
        with Sampler(gw.proc.pid) as s:
            t0 = time.perf_counter()
            if direction == "up":
                with open(big, "rb") as f:
                    p = subprocess.run(BASE + m.mux() + ["mux", "wc -c"], stdin=f, capture_output=True)
                got = int(p.stdout.split()[0]) if p.returncode == 0 and p.stdout.split() else -1
            else:
                p = subprocess.Popen(BASE + m.mux() + ["mux", f"cat {big}"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
                got, buf = 0, bytearray(1 << 20)
                while (n := p.stdout.readinto(buf)):
                    got += n
                p.wait()
            took = time.perf_counter() - t0
        mc1 = machine_cpu()
        if got != size:
            raise SystemExit(f"bench: {kind} {direction} moved {got} of {size} bytes (rc {p.returncode}): "
                             f"{p.stderr.decode(errors='replace')[:300] if p.stderr else ''}")
        r = out[kind]
        r[direction].append(size / took / (1 << 20))
        gib = size / (1 << 30)
        r["cpu_s_per_gib"][direction].append({k: (sum(map(cpu_s, v)) - cpu0[k]) / gib for k, v in roles.items()})
        r["cpu_busy"][direction].append((mc1[0] - mc0[0]) / max(1, mc1[1] - mc0[1]) * 100)
        r["rss_growth_kib"][direction].append(s.growth)
        if kind != "direct":
            remove_recordings(gw)

    for kind in masters:  # warm-up: page cache, ciphers
        one(kind, "up"), one(kind, "down")
    for r in out.values():
        for v in r.values():
            for lst in (v.values() if isinstance(v, dict) else [v]):
                lst.clear()
    for i in range(runs):
        for direction in ("up", "down"):
            kinds = list(masters)
            for kind in (kinds if i % 2 == 0 else kinds[::-1]):
                one(kind, direction)
    res["throughput"] = {}
    for direction in ("up", "down"):
        d, f = lb.med(out["direct"][direction]), lb.med(out["fumidai"][direction])
        fr = out["fumidai"]
        res["throughput"][direction] = {
            "direct_mib_s": d, "fumidai_mib_s": f, "ratio": f / d,
            "direct_runs": out["direct"][direction], "fumidai_runs": fr[direction],
            "cpu_s_per_gib": {k: {role: lb.med([c[role] for c in out[k]["cpu_s_per_gib"][direction]])
                                  for role in out[k]["cpu_s_per_gib"][direction][0]} for k in out},
            "machine_cpu_busy_pct": {"direct": lb.med(out["direct"]["cpu_busy"][direction]),
                                     "fumidai": lb.med(fr["cpu_busy"][direction])},
        }
        print(f"   {direction:<4} direct {d:7.1f} MiB/s  fumidai {f:7.1f} MiB/s  ratio {f / d:.2f}  "
              f"(fumidai runs: {', '.join(f'{x:.0f}' for x in fr[direction])})")
        for k in out:
            c = res["throughput"][direction]["cpu_s_per_gib"][k]
            print(f"        {k:<8} CPU s per GiB: " + ", ".join(f"{role} {v:.2f}" for role, v in c.items())
                  + f"; total {sum(c.values()):.2f}; machine busy {lb.med(out[k]['cpu_busy'][direction]):.0f}% "
                  f"of {os.cpu_count()} cores")
    if "openssl" in out:
        for direction in ("up", "down"):
            o = lb.med(out["openssl"][direction])
            res["throughput"][direction]["openssl_relay_mib_s"] = o
            res["throughput"][direction]["openssl_relay_ratio"] = o / lb.med(out["direct"][direction])
        print(f"   diagnostic: through fumidai with `openssl s_client` as the ProxyCommand instead of fumidai "
              f"connect: up ratio {res['throughput']['up']['openssl_relay_ratio']:.2f}, down "
              f"{res['throughput']['down']['openssl_relay_ratio']:.2f}")
    res["throughput"]["ciphers"] = {"direct": masters["direct"].cipher(), "fumidai_front": masters["fumidai"].cipher()}
    up, down = out["fumidai"]["rss_growth_kib"]["up"], out["fumidai"]["rss_growth_kib"]["down"]
    res["rss_during_transfer"] = {"upload_growth_kib_max": max(up), "upload_growth_kib_runs": up,
                                  "download_growth_kib_max": max(down), "download_growth_kib_runs": down}
    print(f"5. fumidai VmRSS growth during each 1 GiB transfer (sampled every 50 ms): upload max "
          f"{max(up) / 1024:.1f} MiB (runs {', '.join(f'{x / 1024:.1f}' for x in up)}), download max "
          f"{max(down) / 1024:.1f} MiB")


# ---------------------------------------------------------------------------------------
# 2: setup time

def part2(gw, target, n, tmp, res):
    print(f"\n2. setup, whole `ssh H true` run, median of {n} ({lb.machine_load()})")
    ssh = lb.SSH  # ssh -vvv -F /dev/null -T ...

    def fum():
        args, env = gw.client(gw.fresh(), tmp)
        r = lb.SshRun(ssh + args + ["true"], env=env)
        if r.rc != 0 or not r.authenticated:
            raise SystemExit(f"bench: fumidai `ssh true` failed, rc {r.rc}: {r.why()}")
        return r

    def direct():
        r = lb.SshRun(ssh + target.args() + ["true"])
        if r.rc != 0:
            raise SystemExit(f"bench: direct `ssh true` failed, rc {r.rc}: {r.why()}")
        return r

    fum(), direct()  # warm-up
    runs = {"direct": [], "fumidai": []}
    for _ in range(n):
        runs["fumidai"].append(fum())
        runs["direct"].append(direct())
    res["setup"] = {}
    for kind, rs in runs.items():
        whole = lb.med([r.wall - r.typing() for r in rs])
        login = lb.med([r.login_ms() for r in rs])
        rest = lb.med([r.wall - r.t["auth"] for r in rs])
        res["setup"][kind] = {"whole_ms": whole, "login_ms": login, "after_login_ms": rest,
                              "typing_ms": lb.med([r.typing() for r in rs]),
                              "runs_ms": [r.wall - r.typing() for r in rs]}
        print(f"   {kind:<8} {whole:6.1f} ms: start->authenticated {login:6.1f} ms, then session+`true`+exit "
              f"{rest:6.1f} ms" + (f" (typing subtracted: {res['setup'][kind]['typing_ms']:.1f} ms)"
                                   if kind == "fumidai" else ""))
    d, f = res["setup"]["direct"]["whole_ms"], res["setup"]["fumidai"]["whole_ms"]
    res["setup"]["ratio"] = f / d
    print(f"   ratio fumidai/direct {f / d:.2f}")


# ---------------------------------------------------------------------------------------
# 3: keystroke echo

class Echo:
    """`ssh -tt H 'stty raw -echo; cat'`: what goes in comes back, one byte at a time."""

    def __init__(self, args, env=None):
        self.p = subprocess.Popen(BASE + ["-tt", "-e", "none"] + args +
                                  ["stty raw -echo; echo READY; exec cat"], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.inp = self.p.stdout.fileno(), self.p.stdin.fileno()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.out, selectors.EVENT_READ)
        seen, deadline = b"", time.time() + 60
        while b"READY" not in seen:
            if time.time() > deadline:
                raise SystemExit("bench: echo session not ready in 60 s")
            if not self.sel.select(timeout=1):
                if self.p.poll() is not None:
                    raise SystemExit(f"bench: echo session ended: {self.p.stderr.read()[:300]!r}")
                continue
            chunk = os.read(self.out, 4096)
            if not chunk:
                raise SystemExit(f"bench: echo session ended: {self.p.stderr.read()[:300]!r}")
            seen += chunk
        time.sleep(0.2)
        while self.sel.select(timeout=0.1):  # the rest of READY\r\n
            os.read(self.out, 4096)

    def sample(self):
        t0 = time.perf_counter()
        os.write(self.inp, b"x")
        got = b""
        while not got:
            if not self.sel.select(timeout=5):
                raise SystemExit("bench: no echo within 5 s")
            got = os.read(self.out, 64)
        took = time.perf_counter() - t0
        if got != b"x":
            raise SystemExit(f"bench: echoed {got!r}")
        return took * 1000

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def part3(gw, target, keys, tmp, res):
    print(f"\n3. keystroke echo, {keys} samples each, interleaved ({lb.machine_load()})")
    args, env = gw.client(gw.fresh(), tmp)
    sessions = {"direct": Echo(target.args()), "fumidai": Echo(args, env)}
    lat = {k: [] for k in sessions}
    for _ in range(20):  # warm-up
        for s in sessions.values():
            s.sample()
    for i in range(keys):
        for kind in (("direct", "fumidai") if i % 2 == 0 else ("fumidai", "direct")):
            lat[kind].append(sessions[kind].sample())
            time.sleep(0.002)  # a fast typist is ~10 ms a key; keep the samples apart
    for s in sessions.values():
        s.close()
    res["echo"] = {}
    for kind, xs in lat.items():
        res["echo"][kind] = {"p50_ms": pct(xs, 50), "p99_ms": pct(xs, 99), "max_ms": max(xs), "n": len(xs)}
        print(f"   {kind:<8} p50 {pct(xs, 50):.3f} ms  p99 {pct(xs, 99):.3f} ms  max {max(xs):.2f} ms")
    added50 = res["echo"]["fumidai"]["p50_ms"] - res["echo"]["direct"]["p50_ms"]
    added99 = res["echo"]["fumidai"]["p99_ms"] - res["echo"]["direct"]["p99_ms"]
    res["echo"].update(added_p50_ms=added50, added_p99_ms=added99,
                       ratio_p50=res["echo"]["fumidai"]["p50_ms"] / res["echo"]["direct"]["p50_ms"],
                       ratio_p99=res["echo"]["fumidai"]["p99_ms"] / res["echo"]["direct"]["p99_ms"])
    print(f"   added by fumidai: p50 {added50:+.3f} ms, p99 {added99:+.3f} ms")


# ---------------------------------------------------------------------------------------
# 4: many idle sessions

def open_sessions(clients, parallel):
    """Starts `ssh -tt H` (a login shell) for each (args, env), `parallel` logins at a time;
    a session counts as open once its shell answered `echo`. Returns (processes, seconds)."""
    procs, ready, sel = [], set(), selectors.DefaultSelector()
    seen = {}
    t0 = time.time()
    todo = list(clients)
    while todo or len(ready) < len(procs):
        while todo and len(procs) - len(ready) < parallel:
            args, env = todo.pop(0)
            p = subprocess.Popen(BASE + ["-tt", "-e", "none"] + args, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdin.write(b"echo RE''ADY\n")  # the pty echoes RE''ADY, the shell prints READY
            p.stdin.flush()
            procs.append(p)
            seen[p.stdout.fileno()] = b""
            sel.register(p.stdout.fileno(), selectors.EVENT_READ, p)
        for key, _ in sel.select(timeout=1):
            fd, p = key.fd, key.data
            chunk = os.read(fd, 4096)
            if not chunk:
                raise SystemExit(f"bench: session {len(procs)} ended before its shell answered: "
                                 f"{p.stderr.read()[:300]!r}")
            seen[fd] += chunk
            if b"READY" in seen[fd]:
                ready.add(fd)
                sel.unregister(fd)
        if time.time() - t0 > 600:
            raise SystemExit(f"bench: only {len(ready)} of {len(clients)} sessions opened in 600 s")
    return procs, time.time() - t0


def close_sessions(procs):
    for p in procs:
        p.stdin.write(b"exit\n")
        p.stdin.flush()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def part4(gw, target, n, parallel, tmp, res):
    print(f"\n4. {n} concurrent idle interactive sessions ({lb.machine_load()})")
    gw.restart(env=dict(os.environ, **MMAP_ENV))
    warm, _ = open_sessions([gw.client(gw.fresh(), tmp)], 1)
    close_sessions(warm)
    time.sleep(2)
    before = gw.rss()
    procs, took = open_sessions([gw.client(gw.fresh(), tmp) for _ in range(n)], parallel)
    time.sleep(3)
    with_n, conns = gw.rss(), gw.ssh_connections()
    close_sessions(procs)
    time.sleep(3)
    after = gw.rss()
    per = (with_n - before) / n
    print(f"   fumidai: VmRSS {lb.mib(before)} -> {lb.mib(with_n)} with {n} open ({conns} SSH connections "
          f"counted; opened in {took:.0f} s, {parallel} logins at a time) -> {per:.0f} KiB per session; "
          f"after they closed {lb.mib(after)} ({gw.ssh_connections()} counted)")
    # Round 2 on the same process: memory kept after round 1 and reused is the allocator's;
    # growth again would be a leak.
    procs, _ = open_sessions([gw.client(gw.fresh(), tmp) for _ in range(n)], parallel)
    time.sleep(3)
    with_2 = gw.rss()
    close_sessions(procs)
    time.sleep(3)
    after_2 = gw.rss()
    print(f"   round 2, {n} more sessions on the same process: {lb.mib(with_2)} with them open, "
          f"{lb.mib(after_2)} after")
    # Direct, for scale: sshd forks two processes per session.
    time.sleep(1)
    pss0 = target.pss()
    procs, took_d = open_sessions([(target.args(), None) for _ in range(n)], parallel)
    time.sleep(3)
    pss1 = target.pss()
    close_sessions(procs)
    per_d = (pss1 - pss0) / n
    print(f"   sshd direct: PSS of sshd processes {lb.mib(pss0)} -> {lb.mib(pss1)} -> {per_d:.0f} KiB per session "
          f"(opened in {took_d:.0f} s)")
    res["sessions"] = {"n": n, "fumidai_rss_before_kib": before, "fumidai_rss_with_kib": with_n,
                       "fumidai_rss_after_close_kib": after, "round2_rss_with_kib": with_2,
                       "round2_rss_after_close_kib": after_2, "fumidai_kib_per_session": per,
                       "ssh_connections_counted": conns, "open_seconds": took,
                       "sshd_pss_before_kib": pss0, "sshd_pss_with_kib": pss1, "sshd_kib_per_session": per_d,
                       "ratio": per / per_d}


# ---------------------------------------------------------------------------------------
# 6: back-to-back transfers

def part6(gw, target, masters, count, mib_each, tmp, res):
    print(f"\n6. {count} back-to-back {mib_each} MiB transfers, alternating (scp SFTP up/down, legacy up/down) "
          f"({lb.machine_load()})")
    src = os.path.join(tmp, "small.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(mib_each << 20))
    with open(src, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    res["transfers"] = {}
    for kind, m in ((k, masters[k]) for k in ("direct", "fumidai")):
        remote_dir = os.path.join(target.tmp, f"xfer-{kind}")  # the target's file system
        local_dir = os.path.join(tmp, f"xfer-{kind}")
        os.makedirs(remote_dir), os.makedirs(local_dir)
        shutil.copy(src, os.path.join(remote_dir, "source.bin"))
        user = ["-o", f"User={m.user}"] + (["-P", str(target.port)] if kind == "direct" else [])
        ok, failures, t0 = 0, [], time.time()
        for i in range(count):
            legacy, up = (i // 2) % 2 == 1, i % 2 == 0
            scp = ["scp", "-q", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
                   "UserKnownHostsFile=/dev/null"] + m.mux() + user + (["-O"] if legacy else [])
            if up:
                dst = os.path.join(remote_dir, f"up-{i}.bin")
                argv = scp + [src, f"{m.host}:{dst}"]
            else:
                dst = os.path.join(local_dir, f"down-{i}.bin")
                argv = scp + [f"{m.host}:{remote_dir}/source.bin", dst]
            p = subprocess.run(argv, capture_output=True, text=True)
            try:
                with open(dst, "rb") as f:
                    got = hashlib.sha256(f.read()).hexdigest()
                os.unlink(dst)
            except OSError:
                got = None
            if p.returncode == 0 and got == want:
                ok += 1
            else:
                failures.append(f"#{i} {'up' if up else 'down'}{' legacy' if legacy else ''}: rc {p.returncode}, "
                                f"{'intact' if got == want else 'missing' if got is None else 'CORRUPT'}; "
                                f"{p.stderr.strip()[:200]}")
        took = time.time() - t0
        res["transfers"][kind] = {"completed_intact": ok, "of": count, "seconds": took, "failures": failures}
        print(f"   {kind:<8} {ok}/{count} intact in {took:.1f} s ({count * mib_each / took:.0f} MiB/s overall)")
        for f in failures[:5]:
            print(f"      FAILED {f}")
        if kind == "fumidai":
            remove_recordings(gw)
    d, f = res["transfers"]["direct"]["seconds"], res["transfers"]["fumidai"]["seconds"]
    res["transfers"]["time_ratio"] = f / d
    print(f"   time ratio fumidai/direct {f / d:.2f}")


def part7(gw, target, masters, big, size, runs, res):
    """1 GiB through stock `sftp` (put and get): the SFTP inspector's cost, files staged
    under a temporary name and renamed into place, bytes in the side file."""
    print(f"\n7. sftp put/get of {size >> 20} MiB, median of {runs} ({lb.machine_load()})")
    with open(big, "rb") as f:
        want = hashlib.file_digest(f, "sha256").hexdigest()
    out = {k: {"up": [], "down": []} for k in ("direct", "fumidai")}
    for i in range(runs):
        for kind in ("direct", "fumidai") if i % 2 == 0 else ("fumidai", "direct"):
            m = masters[kind]
            user = ["-o", f"User={m.user}"] + (["-P", str(target.port)] if kind == "direct" else [])
            sftp = ["sftp", "-q", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
                    "UserKnownHostsFile=/dev/null"] + m.mux() + user + ["-b", "-", m.host]
            remote = os.path.join(target.tmp, f"sftp-{kind}.bin")
            back = big + f".{kind}.back"
            for direction, batch in (("up", f"put {big} {remote}\n"), ("down", f"get {remote} {back}\n")):
                t0 = time.perf_counter()
                p = subprocess.run(sftp, input=batch, capture_output=True, text=True)
                took = time.perf_counter() - t0
                if p.returncode != 0:
                    raise SystemExit(f"bench: sftp {kind} {direction} failed: {p.stderr[:300]}")
                out[kind][direction].append(size / took / (1 << 20))
            with open(back, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() != want:
                    raise SystemExit(f"bench: sftp {kind} round trip corrupted the file")
            os.unlink(back), os.unlink(remote)
            if kind == "fumidai":
                remove_recordings(gw)
    res["sftp"] = {}
    for direction in ("up", "down"):
        d, f = lb.med(out["direct"][direction]), lb.med(out["fumidai"][direction])
        res["sftp"][direction] = {"direct_mib_s": d, "fumidai_mib_s": f, "ratio": f / d,
                                  "direct_runs": out["direct"][direction], "fumidai_runs": out["fumidai"][direction]}
        print(f"   {direction:<4} direct {d:7.1f} MiB/s  fumidai {f:7.1f} MiB/s  ratio {f / d:.2f}")


# ---------------------------------------------------------------------------------------

def table(res, args):
    """The summary table; figures not run (`--only`) are left out."""
    g = lambda k: res.get(k, {})
    t, s, e, n, x = g("throughput"), g("setup"), g("echo"), g("sessions"), g("transfers")
    r5 = g("rss_during_transfer")
    ok = lambda c: "met" if c else "NOT MET"
    rows = []
    for make in [
        lambda: ("1. upload 1 GiB (MiB/s)", f"{t['up']['direct_mib_s']:.0f}", f"{t['up']['fumidai_mib_s']:.0f}",
         f"{t['up']['ratio']:.2f}", f">=0.5x {ok(t['up']['ratio'] >= 0.5)}"),
        lambda: ("1. download 1 GiB (MiB/s)", f"{t['down']['direct_mib_s']:.0f}", f"{t['down']['fumidai_mib_s']:.0f}",
         f"{t['down']['ratio']:.2f}", f">=0.6x {ok(t['down']['ratio'] >= 0.6)}"),
        lambda: ("7. sftp put 1 GiB (MiB/s)", f"{res['sftp']['up']['direct_mib_s']:.0f}",
         f"{res['sftp']['up']['fumidai_mib_s']:.0f}", f"{res['sftp']['up']['ratio']:.2f}", "(inspected, staged)"),
        lambda: ("7. sftp get 1 GiB (MiB/s)", f"{res['sftp']['down']['direct_mib_s']:.0f}",
         f"{res['sftp']['down']['fumidai_mib_s']:.0f}", f"{res['sftp']['down']['ratio']:.2f}", "(inspected)"),
        lambda: ("2. setup `ssh true` (ms)", f"{s['direct']['whole_ms']:.0f}", f"{s['fumidai']['whole_ms']:.0f}",
         f"{s['ratio']:.2f}", "(typing excluded)"),
        lambda: ("3. echo p50 (ms)", f"{e['direct']['p50_ms']:.3f}", f"{e['fumidai']['p50_ms']:.3f}",
         f"{e['ratio_p50']:.2f}", f"added {e['added_p50_ms']:+.3f} ms"),
        lambda: ("3. echo p99 (ms)", f"{e['direct']['p99_ms']:.3f}", f"{e['fumidai']['p99_ms']:.3f}",
         f"{e['ratio_p99']:.2f}", f"added {e['added_p99_ms']:+.3f} ms, <1 ms {ok(e['added_p99_ms'] < 1)}"),
        lambda: (f"4. memory per idle session, {n['n']} (KiB)", f"{n['sshd_kib_per_session']:.0f}",
         f"{n['fumidai_kib_per_session']:.0f}", f"{n['ratio']:.2f}",
         f"<200 KiB {ok(n['fumidai_kib_per_session'] < 200)} (sshd: PSS)"),
        lambda: ("5. RSS growth during 1 GiB upload (MiB)", "-", f"{r5['upload_growth_kib_max'] / 1024:.1f}", "-",
         f"<16 MiB {ok(r5['upload_growth_kib_max'] < 16 * 1024)} (max of {len(r5['upload_growth_kib_runs'])})"),
        lambda: (f"6. {x['fumidai']['of']} x {args.transfer_mib} MiB back-to-back (s)", f"{x['direct']['seconds']:.1f}",
         f"{x['fumidai']['seconds']:.1f}", f"{x['time_ratio']:.2f}",
         f"intact {x['direct']['completed_intact']}/{x['direct']['of']} direct, "
         f"{x['fumidai']['completed_intact']}/{x['fumidai']['of']} fumidai"),
    ]:
        try:
            rows.append(make())
        except (KeyError, TypeError):
            pass
    head = ("figure", "OpenSSH", "fumidai", "ratio", "target / note")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    fmt = lambda r: "  ".join([r[0].ljust(w[0])] + [c.rjust(w[i]) for i, c in enumerate(r[1:4], 1)] + [r[4]])
    return [fmt(head), fmt(tuple("-" * x for x in w))] + [fmt(r) for r in rows]


def main():
    ap = argparse.ArgumentParser(prog="bench/run proxy", description=__doc__.split("\n\n")[0])
    ap.add_argument("fumidai")
    ap.add_argument("-n", "--runs", type=int, default=5, help="transfers per direction and kind (median of N)")
    ap.add_argument("--size-mib", type=int, default=1024, help="size of each figure-1 transfer")
    ap.add_argument("--setups", type=int, default=15, help="`ssh true` runs per kind")
    ap.add_argument("--keys", type=int, default=1000, help="keystrokes per kind")
    ap.add_argument("--sessions", type=int, default=200, help="concurrent sessions (figure 4)")
    ap.add_argument("--parallel", type=int, default=8, help="logins at a time when opening them")
    ap.add_argument("--transfers", type=int, default=50)
    ap.add_argument("--transfer-mib", type=int, default=20)
    ap.add_argument("--json", help="where to write the figures (default bench/results/proxy-DATE.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (serve.log, sshd.log)")
    ap.add_argument("--front-ciphers", help="OpenSSH `Ciphers` for the logins through fumidai (e.g. the "
                    "hand-over ssh_config's aes128-gcm@openssh.com,aes256-gcm@openssh.com); default: "
                    "the client's own order (stock OpenSSH picks aes128-ctr from the cryptrec profile)")
    ap.add_argument("--only", help="run only these figures, comma-separated (e.g. 1,7); default all")
    args = ap.parse_args()
    global FRONT_CIPHERS
    FRONT_CIPHERS = args.front_ciphers
    soft, hard = lb.resource.getrlimit(lb.resource.RLIMIT_NOFILE)
    lb.resource.setrlimit(lb.resource.RLIMIT_NOFILE, (hard if hard != lb.resource.RLIM_INFINITY else 65536, hard))

    started = datetime.datetime.now(datetime.timezone.utc)
    load_at_start = lb.machine_load()
    with open("/proc/loadavg") as f:
        loadavg = [float(x) for x in f.read().split()[:3]]
    print(f"bench: {load_at_start}")
    tmp = tempfile.mkdtemp(prefix="fumidai-proxy-bench-")
    res = {"started": started.isoformat(timespec="seconds"), "revision": os.environ.get("BENCH_REV")
           or lb.source_revision(), "cpus": os.cpu_count(), "load_at_start": loadavg,
           "load_at_start_text": load_at_start,
           "openssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip(),
           "params": {k: v for k, v in vars(args).items() if k not in ("fumidai", "json", "keep")}}
    t_setup = time.time()
    target = Target(os.path.join(tmp, "sshd"))
    gw = Gateway(tmp)
    # Two operators: one submits the plan, the other approves it, each authenticated with
    # password + TOTP (--as; two lines on stdin). Each uses one code, of the current step.
    op_secret = {}
    for op in ("olga", "sasaki"):
        out = json.loads(gw.cli("--json", "operator", "add", op, "--role", "operator", "--password-stdin",
                                stdin="Hinoki-Sawa-2290\n"))
        op_secret[op] = out["totp_secret"]
    as_op = lambda op: f"Hinoki-Sawa-2290\n{lb.totp(op_secret[op], int(time.time()) // 30)}\n"
    # The throwaway sshd logs the benchmark in as root, a factory account that `target add`
    # refuses without a reason (issue 12); builds from before that have no such flag.
    shared_admin = []
    if "--allow-shared-admin" in lb.sh(FUMIDAI, "target", "add", "--help"):
        shared_admin = ["--allow-shared-admin", "benchmark: a throwaway sshd that logs in as root"]
    gw.cli("target", "add", TARGET, "--ssh", f"127.0.0.1:{target.port}", "--login", "root", "--key-file",
           target.client_key, "--host-key", target.host_key, *shared_admin)
    needed = 2 + args.setups + 1 + 1 + 2 + 2 * args.sessions + 2  # masters, setups+warm-up, echo, sessions+warm-up
    logins = gw.add_engineers(needed)
    now = int(time.time())
    iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = json.loads(gw.cli("--json", "plan", "submit", "--engineer", *logins, "--target", TARGET,
                             "--start", iso(now - 300), "--end", iso(now + 6 * 3600), "--purpose",
                             "benchmark / ベンチマーク", "--allow", "upload", "--allow", "download",
                             # Every content kind declared: legacy `scp -O` uploads are
                             # refused otherwise (they aren't inspected file by file).
                             "--allow", "executable", "--allow", "script",
                             "--allow", "macro", "--allow", "archive", "--as", "sasaki",
                             stdin=as_op("sasaki")))
    gw.cli("plan", "approve", plan["id"], "--as", "olga", stdin=as_op("olga"))
    big = os.path.join(tmp, "big.bin")
    subprocess.run(["head", "-c", str(args.size_mib << 20), "/dev/urandom"], stdout=open(big, "wb"), check=True)
    print(f"bench: {needed} engineers, target, plan and a {args.size_mib} MiB file in {time.time() - t_setup:.0f} s; "
          f"temp dir {tmp}")
    gw.start(env=dict(os.environ, **MMAP_ENV))
    masters = {}
    try:
        time.sleep(1)
        masters["direct"] = Master("direct", target.args(), None, tmp)
        masters["direct"].user, masters["direct"].host = "root", "127.0.0.1"
        eng = gw.fresh()
        fargs, fenv = gw.client(eng, tmp)
        masters["fumidai"] = Master("fumidai", fargs, fenv, tmp)
        masters["fumidai"].user, masters["fumidai"].host = f"{eng[0]}:{TARGET}", "gw"
        eng = gw.fresh()
        oargs, oenv = gw.client(eng, tmp, relay="openssl")
        masters["openssl"] = Master("openssl", oargs, oenv, tmp)
        only = set(args.only.split(",")) if args.only else None
        wanted = lambda n: only is None or str(n) in only
        if wanted(1):
            part1(gw, target, masters, big, args.size_mib << 20, args.runs, res)
        if wanted(7):
            part7(gw, target, masters, big, args.size_mib << 20, min(args.runs, 3), res)
        os.unlink(big)
        if wanted(6):
            part6(gw, target, masters, args.transfers, args.transfer_mib, tmp, res)
        for m in masters.values():
            m.close()
        masters = {}
        if wanted(2):
            part2(gw, target, args.setups, tmp, res)
        if wanted(3):
            part3(gw, target, args.keys, tmp, res)
        if wanted(4):
            part4(gw, target, args.sessions, args.parallel, tmp, res)
    finally:
        for m in masters.values():
            m.close()
        gw.stop()
        target.stop()
    summary = []
    lb.scan_log(gw, summary)
    res["gateway_log"] = summary[-1]
    res["load_at_end_text"] = lb.machine_load()
    if args.keep:
        print(f"bench: kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = table(res, args)
    print("\n----- summary (paste into the issue note) -----")
    print(f"fumidai proxy bench @ {res['revision']}, release build, loopback, {os.cpu_count()} CPUs, "
          f"{res['openssh'].split(',')[0]}, N={args.runs}")
    print(f"{load_at_start} at start, {res['load_at_end_text']} at end")
    print("\n".join(lines))
    print(summary[-1])
    print("-----------------------------------------------")
    path = args.json or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                     f"proxy-{started.strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    res["table"] = lines
    with open(path, "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"bench: figures written to {path}")


if __name__ == "__main__":
    main()
