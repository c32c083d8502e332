"""A vendor's Python script through fumidai, with asyncssh: keyboard-interactive login
(password, then the TOTP code), exec, and SFTP up and down over the one login, through
`fumidai connect --listen` (asyncssh connects to a local port). Driven by
tests/tests/clients.rs; prints one line per step.

Environment: FUMIDAI_PORT (the local forwarder), FUMIDAI_USER, FUMIDAI_PASSWORD,
FUMIDAI_CODE, FUMIDAI_KNOWN_HOSTS (a known_hosts file naming the gateway as
[127.0.0.1]:PORT), FUMIDAI_REMOTE_DIR, FUMIDAI_LOCAL_DIR.
"""

import asyncio
import os
import warnings

warnings.filterwarnings("ignore")
import asyncssh  # noqa: E402

env = os.environ


class Client(asyncssh.SSHClient):
    def kbdint_auth_requested(self):
        return ""

    def kbdint_challenge_received(self, name, instructions, lang, prompts):
        answers = []
        for text, _echo in prompts:
            if "Password" in text or "パスワード" in text:
                answers.append(env["FUMIDAI_PASSWORD"])
            elif "code" in text or "コード" in text:
                answers.append(env["FUMIDAI_CODE"])
            else:
                answers.append("")
        return answers


async def main():
    print("asyncssh", asyncssh.__version__, flush=True)
    remote = env["FUMIDAI_REMOTE_DIR"]
    local = env["FUMIDAI_LOCAL_DIR"]
    async with asyncssh.connect(
        "127.0.0.1",
        port=int(env["FUMIDAI_PORT"]),
        username=env["FUMIDAI_USER"],
        known_hosts=env["FUMIDAI_KNOWN_HOSTS"],
        client_factory=Client,
        password=None,
        client_keys=None,
        agent_path=None,
        preferred_auth=["keyboard-interactive"],
    ) as conn:
        print("logged in", flush=True)
        result = await conn.run(
            f"touch {remote}/from-asyncssh && echo exec-$((6*7))", check=False
        )
        print("exec", result.stdout.strip(), result.exit_status, flush=True)
        async with conn.start_sftp_client() as sftp:
            up = os.path.join(local, "up-asyncssh.txt")
            with open(up, "w") as f:
                f.write("uploaded by asyncssh\n")
            await sftp.put(up, f"{remote}/up-asyncssh.txt")
            down = os.path.join(local, "down-asyncssh.txt")
            await sftp.get(f"{remote}/to-download.txt", down)
            with open(down) as f:
                print("sftp", f.read().strip(), flush=True)
    print("done", flush=True)


asyncio.run(main())
