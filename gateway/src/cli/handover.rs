//! The engineer's hand-over bundle that `cert issue` writes beside the certificate files
//! (issue 13): what a vendor's engineer needs to connect on the first try and to check
//! that it is really the hospital's gateway they reach — an `ssh_config` snippet, the
//! gateway's host key line for `known_hosts`, a stunnel configuration for Windows clients
//! (PuTTY, WinSCP, Tera Term), and a one-page instruction in Japanese and English.
//!
//! Pure text from the facts given; `cert` writes the files.

/// What the bundle is made from.
pub(super) struct Facts<'a> {
    /// The engineer's login.
    pub login: &'a str,
    /// The front door as vendors reach it (`HOST:PORT`).
    pub front_door: &'a str,
    /// The name the front door's certificate is issued for.
    pub server_name: &'a str,
    /// The gateway's SSH host key, `ssh-ed25519 AAAA…`.
    pub host_key: &'a str,
    /// Its SHA-256 fingerprint, `SHA256:…`.
    pub host_key_fingerprint: &'a str,
    /// The CA certificate's SHA-256, hex.
    pub ca_sha256: &'a str,
    /// The certificate's last day, as the engineer reads it (JST).
    pub valid_until: &'a str,
}

/// The host name the snippet and `known_hosts` use for the gateway.
const ALIAS: &str = "fumidai";

/// The bundle's files: name and contents.
pub(super) fn files(f: &Facts<'_>) -> Vec<(String, String)> {
    vec![
        ("ssh_config".to_owned(), ssh_config(f)),
        ("known_hosts".to_owned(), known_hosts(f)),
        ("stunnel.conf".to_owned(), stunnel(f)),
        ("connect.html".to_owned(), instructions(f)),
    ]
}

fn ssh_config(f: &Facts<'_>) -> String {
    format!(
        "# fumidai: the hospital's remote-maintenance gateway, for {login}.\n\
         # Use from this directory:  ssh -F ssh_config -l {login}:TARGET {ALIAS}\n\
         # (`ssh -F ssh_config {ALIAS}` alone asks which target, after the password and code.)\n\
         Host {ALIAS}\n\
         \x20   HostName {server}\n\
         \x20   User {login}\n\
         \x20   ProxyCommand fumidai connect {front_door} --cert {login}.crt --key {login}.key --ca ca.crt\n\
         \x20   HostKeyAlias {ALIAS}\n\
         \x20   UserKnownHostsFile known_hosts\n\
         \x20   StrictHostKeyChecking yes\n\
         \x20   PreferredAuthentications keyboard-interactive\n\
         \x20   # AES-GCM first: OpenSSH's own order would pick AES-CTR, which needs a separate MAC.\n\
         \x20   Ciphers aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes128-ctr\n\
         \x20   # One login (one code) serves many ssh, scp and sftp commands for 10 minutes.\n\
         \x20   ControlMaster auto\n\
         \x20   ControlPath ~/.ssh/fumidai-%r@%h\n\
         \x20   ControlPersist 10m\n",
        login = f.login,
        server = f.server_name,
        front_door = f.front_door,
    )
}

fn known_hosts(f: &Facts<'_>) -> String {
    format!("{ALIAS} {}\n", f.host_key.trim())
}

fn stunnel(f: &Facts<'_>) -> String {
    format!(
        "; stunnel in client mode (Windows or Linux): clients connect to 127.0.0.1:2222.\n\
         ; PuTTY / WinSCP / Tera Term: host 127.0.0.1, port 2222, user {login}:TARGET.\n\
         [fumidai]\n\
         client = yes\n\
         accept = 127.0.0.1:2222\n\
         connect = {front_door}\n\
         sni = {server}\n\
         checkHost = {server}\n\
         cert = {login}.crt\n\
         key = {login}.key\n\
         CAfile = ca.crt\n\
         verifyChain = yes\n\
         sslVersionMin = TLSv1.3\n",
        login = f.login,
        front_door = f.front_door,
        server = f.server_name,
    )
}

fn instructions(f: &Facts<'_>) -> String {
    let e = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let (login, front_door, fp) = (e(f.login), e(f.front_door), e(f.host_key_fingerprint));
    format!(
        r#"<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>fumidai 接続手順 / How to connect</title>
<style>@page{{size:A4;margin:15mm}}body{{font-family:'Noto Sans CJK JP','Hiragino Sans','Meiryo',sans-serif;font-size:10pt}}
h1{{font-size:14pt;border-bottom:2px solid #000}}h2{{font-size:11pt;margin-top:1em}}code,pre{{font-size:9pt}}
pre{{background:#f4f4f4;padding:4px;white-space:pre-wrap;word-break:break-all}}td,th{{border:1px solid #999;padding:2px 4px;text-align:left}}
table{{border-collapse:collapse}}</style></head><body>
<h1>リモートメンテナンス接続手順 / How to connect for remote maintenance</h1>
<table>
<tr><th>保守要員 / Engineer</th><td>{login}</td></tr>
<tr><th>接続先（踏み台） / Gateway</th><td><code>{front_door}</code></td></tr>
<tr><th>ホスト鍵の指紋 / Host key fingerprint</th><td><code>{fp}</code></td></tr>
<tr><th>CA 証明書 SHA-256 / CA certificate SHA-256</th><td><code>{ca}</code></td></tr>
<tr><th>証明書の有効期限 / Certificate valid until</th><td>{until}</td></tr>
</table>
<h2>1. 受け取ったもの / What you received</h2>
<p><code>{login}.crt</code>, <code>{login}.key</code>（端末から出さないこと / never leaves your device）, <code>ca.crt</code>,
<code>{login}.p12</code>（Windows 用、パスワードは別経路で / for Windows; its password comes separately）,
<code>ssh_config</code>, <code>known_hosts</code>, <code>stunnel.conf</code>。
パスワードと確認コード用の TOTP シークレットは別に届きます / your password and TOTP secret come separately.</p>
<h2>2. OpenSSH（Linux / macOS / Windows 10 以降）</h2>
<pre>ssh -F ssh_config -l {login}:TARGET fumidai
scp -F ssh_config -o User={login}:TARGET FILE fumidai:/tmp/
sftp -F ssh_config -o User={login}:TARGET fumidai</pre>
<p>パスワード、確認コード（認証アプリの6桁）の順に入力します。初回ログイン時は新しいパスワードを2回入力してください。
確認コードは一度しか使えません。続けてログインするときは次のコードを待つか、ControlMaster（ssh_config に設定済み）で1回のログインを使い回してください。<br>
Type your password, then the 6-digit code from your authenticator app. Your first login asks for a new password, twice.
A code works only once: wait for the next one, or let ControlMaster (set in ssh_config) reuse one login.</p>
<h2>3. PuTTY / WinSCP / Tera Term（Windows）</h2>
<p>stunnel をインストールし、<code>stunnel.conf</code> を読み込ませます。接続先は <code>127.0.0.1</code> ポート <code>2222</code>、ユーザー名は <code>{login}:TARGET</code>。<br>
Install stunnel and load <code>stunnel.conf</code>; then connect to <code>127.0.0.1</code> port <code>2222</code> as <code>{login}:TARGET</code>.</p>
<pre>plink -P 2222 -hostkey {fp} -l {login}:TARGET 127.0.0.1</pre>
<p>plink のスクリプトでは <code>-no-antispoof</code> を付けてください / in plink scripts, add <code>-no-antispoof</code>.</p>
<h2>4. ホスト鍵の確認 / Check the host key</h2>
<p>初回接続時に表示される指紋が上の <code>{fp}</code> と一致することを確認してください。一致しない場合は接続せず病院に連絡してください。<br>
The first connection shows the gateway's fingerprint: it must equal <code>{fp}</code>. If it doesn't, don't connect; call the hospital.</p>
<h2>5. 作業の条件 / When you can work</h2>
<p>承認された作業計画の時間帯だけ接続できます。作業はすべて記録され、作業計画と照合されて病院の企画管理者に報告されます。<br>
You can connect only inside an approved work plan's window. Everything is recorded, reconciled with the plan and reported to the hospital's planning manager.</p>
</body></html>
"#,
        ca = e(f.ca_sha256),
        until = e(f.valid_until),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn facts() -> Facts<'static> {
        Facts {
            login: "yamada",
            front_door: "gw.example-hospital.jp:8443",
            server_name: "gw.example-hospital.jp",
            host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0 fumidai\n",
            host_key_fingerprint: "SHA256:abc",
            ca_sha256: "00ff",
            valid_until: "2027-03-07 JST",
        }
    }

    #[test]
    fn the_bundle_names_the_engineer_the_gateway_and_its_key() {
        let files = files(&facts());
        let text = |name: &str| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let config = text("ssh_config");
        assert!(config.contains(
            "ProxyCommand fumidai connect gw.example-hospital.jp:8443 --cert yamada.crt"
        ));
        assert!(config.contains("HostKeyAlias fumidai"));
        assert!(config.contains("StrictHostKeyChecking yes"));
        assert!(config.contains("Ciphers aes128-gcm@openssh.com,"));
        assert_eq!(
            text("known_hosts"),
            "fumidai ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0 fumidai\n"
        );
        assert!(text("stunnel.conf").contains("sslVersionMin = TLSv1.3"));
        let page = text("connect.html");
        assert!(
            page.contains("SHA256:abc")
                && page.contains("接続手順")
                && page.contains("How to connect")
        );
    }
}
