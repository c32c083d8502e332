#!/usr/bin/env python3
"""fumidai login latency, idle memory and behaviour under a flood of unauthenticated
connections, each next to plain OpenSSH (sshd on loopback, public-key login) in the same run.

Figures (medians over N logins; RSS from /proc):
  1. TCP connect -> authenticated session -> exit, stock `ssh` through `fumidai connect`
     (password + TOTP answered by SSH_ASKPASS at once, so no typing time), vs plain sshd.
  2. RSS of an idle `fumidai serve` vs an idle sshd listener.
  3. 500 held unauthenticated connections (raw TCP, then completed mutual-TLS handshakes):
     RSS growth, and login latency while they are held.
"""
import os, shutil, socket, ssl, statistics, subprocess, sys, tempfile, time, json

FUMIDAI = sys.argv[1]
LOGINS = int(os.environ.get("BENCH_LOGINS", "15"))
FLOOD = int(os.environ.get("BENCH_FLOOD", "500"))
PASSWORD = "Kaede-Hashira-7731"


def sh(*args, stdin=None, **kw):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True, **kw).stdout


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Fumidai:
    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.port, self.ui = free_port(), free_port()
        self.cli("init", "--listen", f"127.0.0.1:{self.port}", "--ui-listen", f"127.0.0.1:{self.ui}")
        self.cli("vendor", "add", "bench")
        self.engineers = []

    def cli(self, *args, stdin=None):
        return sh(FUMIDAI, "--data-dir", self.data, *args, stdin=stdin)

    def add_engineers(self, n):
        for i in range(n):
            login = f"eng{len(self.engineers)}"
            out = json.loads(self.cli("--json", "engineer", "add", login, "--vendor", "bench", "--password-stdin", stdin=PASSWORD + "\n"))
            certs = os.path.join(self.tmp, f"certs-{login}")
            self.cli("cert", "issue", login, "--out", certs)
            self.engineers.append((login, out["totp_secret"], certs))

    def start(self):
        self.log = open(os.path.join(self.tmp, "serve.log"), "w")
        self.proc = subprocess.Popen([FUMIDAI, "--data-dir", self.data, "serve"], stdout=self.log, stderr=self.log)
        wait_port(self.port)

    def login(self, engineer):
        login, secret, certs = engineer
        code = sh("oathtool", "--totp", "-b", secret).strip()
        askpass = os.path.join(self.tmp, f"askpass-{login}.sh")
        with open(askpass, "w") as f:
            f.write(f"#!/bin/sh\ncase \"$1\" in *assword*) echo '{PASSWORD}';; *) echo '{code}';; esac\n")
        os.chmod(askpass, 0o700)
        proxy = f"{FUMIDAI} connect 127.0.0.1:{self.port} --cert {certs}/{login}.crt --key {certs}/{login}.key --ca {certs}/ca.crt"
        env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        t0 = time.perf_counter()
        r = subprocess.run(["ssh", "-F", "/dev/null", "-T", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", "LogLevel=ERROR", "-o", "PreferredAuthentications=keyboard-interactive",
                            "-o", f"ProxyCommand={proxy}", f"{login}@gw", "true"], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if "Permission denied" in r.stderr or r.returncode == 255:
            raise SystemExit(f"fumidai login failed: {r.stderr}")
        return elapsed

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Sshd:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port = free_port()
        key = os.path.join(tmp, "hostkey")
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
        self.client_key = os.path.join(tmp, "client")
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.client_key)
        shutil.copy(self.client_key + ".pub", os.path.join(tmp, "authorized_keys"))
        os.chmod(os.path.join(tmp, "authorized_keys"), 0o600)
        cfg = os.path.join(tmp, "sshd_config")
        with open(cfg, "w") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {tmp}/sshd.pid\n"
                    f"AuthorizedKeysFile {tmp}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n")
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", cfg], stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def login(self):
        t0 = time.perf_counter()
        subprocess.run(["ssh", "-F", "/dev/null", "-T", "-i", self.client_key, "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                        "-p", str(self.port), "root@127.0.0.1", "true"], check=True, capture_output=True)
        return time.perf_counter() - t0

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def hold_tcp(port, n):
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port)))
    return socks


def hold_tls(port, n, certs, login):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(f"{certs}/ca.crt")
    ctx.load_cert_chain(f"{certs}/{login}.crt", f"{certs}/{login}.key")
    socks = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        socks.append(s)
    return socks


def main():
    tmp = tempfile.mkdtemp(prefix="fumidai-bench-")
    gw = Fumidai(tmp)
    # Each login needs a fresh TOTP step per engineer, so each engineer logs in once.
    gw.add_engineers(LOGINS * 2 + 5)
    gw.start()
    sshd = Sshd(tempfile.mkdtemp(prefix="sshd-bench-"))
    try:
        time.sleep(1)
        idle_fumidai = rss_kib(gw.proc.pid)
        idle_sshd = rss_kib(sshd.proc.pid)
        pool = list(gw.engineers)
        fum = [gw.login(pool.pop()) for _ in range(LOGINS)]
        base = [sshd.login() for _ in range(LOGINS)]
        f_med, b_med = statistics.median(fum), statistics.median(base)
        print(f"1. login, connect -> authenticated -> exit, median of {LOGINS}:")
        print(f"   fumidai (ssh + fumidai connect, password+TOTP, Argon2id m=19MiB t=2) {f_med*1000:7.1f} ms")
        print(f"   plain OpenSSH sshd (public key)                                  {b_med*1000:7.1f} ms")
        print(f"   ratio fumidai / OpenSSH: {f_med / b_med:.2f}")
        after = rss_kib(gw.proc.pid)
        print(f"2. RSS idle: fumidai {idle_fumidai/1024:.1f} MiB (after {LOGINS} logins {after/1024:.1f} MiB), "
              f"sshd {idle_sshd/1024:.1f} MiB, ratio {idle_fumidai/idle_sshd:.2f}")
        before = rss_kib(gw.proc.pid)
        held = hold_tcp(gw.port, FLOOD)
        time.sleep(0.5)
        tcp_rss = rss_kib(gw.proc.pid)
        under_tcp = [gw.login(pool.pop()) for _ in range(3)]
        for s in held:
            s.close()
        login, _, certs = gw.engineers[0]
        held = hold_tls(gw.port, FLOOD, certs, login)
        time.sleep(0.5)
        tls_rss = rss_kib(gw.proc.pid)
        under_tls = [gw.login(pool.pop()) for _ in range(2)]
        for s in held:
            s.close()
        time.sleep(1)
        settled = rss_kib(gw.proc.pid)
        print(f"3. {FLOOD} held unauthenticated connections:")
        print(f"   RSS before {before/1024:.1f} MiB; {FLOOD} raw TCP {tcp_rss/1024:.1f} MiB "
              f"(+{(tcp_rss-before)/FLOOD:.1f} KiB each); {FLOOD} mutual-TLS {tls_rss/1024:.1f} MiB "
              f"(+{(tls_rss-before)/FLOOD:.1f} KiB each); after release {settled/1024:.1f} MiB")
        print(f"   login during TCP flood median {statistics.median(under_tcp)*1000:.1f} ms, during TLS flood "
              f"{statistics.median(under_tls)*1000:.1f} ms (ratio to no flood {statistics.median(under_tcp+under_tls)/f_med:.2f})")
    finally:
        gw.stop()
        sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
