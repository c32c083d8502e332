"""A vendor's Python script through fumidai, with paramiko: keyboard-interactive login
(password, then the TOTP code), then exec, an interactive shell and SFTP up and down over
the one login. Driven by tests/tests/clients.rs; prints one line per step.

Arguments come from the environment: FUMIDAI_PROXY (the ProxyCommand), FUMIDAI_USER,
FUMIDAI_PASSWORD, FUMIDAI_CODE, FUMIDAI_HOSTKEY (the gateway's public key line),
FUMIDAI_REMOTE_DIR (a directory on the target), FUMIDAI_LOCAL_DIR (here).
"""

import base64
import os
import sys
import time

import paramiko

env = os.environ
print("paramiko", paramiko.__version__, flush=True)

sock = paramiko.ProxyCommand(env["FUMIDAI_PROXY"])
transport = paramiko.Transport(sock)
kind, blob = env["FUMIDAI_HOSTKEY"].split()[:2]
expected = paramiko.Ed25519Key(data=base64.b64decode(blob))
transport.start_client(timeout=30)
if transport.get_remote_server_key() != expected:
    sys.exit("the gateway's host key is not the expected one")
print("cipher", transport.remote_cipher, "mac", transport.remote_mac, flush=True)


def answer(title, instructions, prompts):
    answers = []
    for text, _echo in prompts:
        if "Password" in text or "パスワード" in text:
            answers.append(env["FUMIDAI_PASSWORD"])
        elif "code" in text or "コード" in text:
            answers.append(env["FUMIDAI_CODE"])
        else:
            answers.append("")
    return answers


transport.auth_interactive(env["FUMIDAI_USER"], answer)
assert transport.is_authenticated()
print("logged in", flush=True)

remote = env["FUMIDAI_REMOTE_DIR"]
local = env["FUMIDAI_LOCAL_DIR"]

# exec
chan = transport.open_session()
chan.exec_command(f"touch {remote}/from-paramiko-exec && echo exec-$((6*7))")
out = chan.makefile("r").read().decode()
status = chan.recv_exit_status()
print("exec", out.strip(), status, flush=True)

# an interactive shell on a pty
chan = transport.open_session()
chan.get_pty(term="xterm", width=80, height=24)
chan.invoke_shell()
chan.send(f"touch {remote}/from-paramiko-shell; echo shell-$((3+4)); exit\n")
seen = b""
deadline = time.time() + 30
while time.time() < deadline and not chan.exit_status_ready():
    if chan.recv_ready():
        seen += chan.recv(65536)
    else:
        time.sleep(0.05)
while chan.recv_ready():
    seen += chan.recv(65536)
print("shell", "shell-7" in seen.decode(errors="replace"), chan.recv_exit_status(), flush=True)

# SFTP up and down
sftp = paramiko.SFTPClient.from_transport(transport)
up = os.path.join(local, "up.txt")
with open(up, "w") as f:
    f.write("uploaded by paramiko\n")
sftp.put(up, f"{remote}/up.txt")
down = os.path.join(local, "down.txt")
sftp.get(f"{remote}/to-download.txt", down)
with open(down) as f:
    print("sftp", f.read().strip(), flush=True)
sftp.close()
transport.close()
print("done", flush=True)
