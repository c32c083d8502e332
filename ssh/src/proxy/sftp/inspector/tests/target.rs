//! A small in-memory SFTP v3 server, answering as OpenSSH's `sftp-server` does, so the
//! inspector's tests can check what the target holds afterwards, not just what was sent.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use crate::proxy::sftp::wire::{Fields, attr, kind, pflags, status};

const NO_SUCH_FILE: u32 = 2;

/// One entry of the target's file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    File { data: Vec<u8>, mode: u32 },
    Dir,
    Link(String),
}

/// The target: its files, and the handles it gave.
#[derive(Debug, Default)]
pub(super) struct FakeTarget {
    pub(super) entries: BTreeMap<String, Entry>,
    handles: HashMap<Vec<u8>, String>,
    next_handle: u32,
}

impl FakeTarget {
    pub(super) fn with_file(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        self.entries.insert(
            path.to_owned(),
            Entry::File {
                data: data.to_vec(),
                mode,
            },
        );
        self
    }

    pub(super) fn with_dir(mut self, path: &str) -> Self {
        self.entries.insert(path.to_owned(), Entry::Dir);
        self
    }

    /// The file at `path`: its content and mode.
    pub(super) fn file(&self, path: &str) -> Option<(&[u8], u32)> {
        match self.entries.get(path)? {
            Entry::File { data, mode } => Some((data, *mode)),
            _ => None,
        }
    }

    /// Names of the inspector's temporary files still on the target.
    pub(super) fn temp_files(&self) -> Vec<&String> {
        self.entries
            .keys()
            .filter(|p| p.contains(".fumidai-"))
            .collect()
    }

    /// The reply to one request.
    pub(super) fn answer(&mut self, packet: &[u8]) -> Bytes {
        let mut f = Fields::of(packet).expect("a request the inspector built");
        let op = f.kind();
        if op == kind::INIT {
            // As OpenSSH's: the rename that replaces.
            let mut body = vec![kind::VERSION, 0, 0, 0, 3];
            put_string(&mut body, b"posix-rename@openssh.com");
            put_string(&mut body, b"1");
            return framed(&body);
        }
        let id = f.u32().expect("id");
        let code = match op {
            kind::OPEN => {
                let path = f.text().expect("path");
                let flags = f.u32().expect("pflags");
                let mode = f.attrs().expect("attrs").permissions.unwrap_or(0o644) & 0o7777;
                let exists = self.entries.contains_key(&path);
                if exists && flags & pflags::EXCL != 0 && flags & pflags::CREAT != 0 {
                    status::FAILURE
                } else if !exists && flags & pflags::CREAT == 0 {
                    NO_SUCH_FILE
                } else {
                    let entry = self.entries.entry(path.clone()).or_insert(Entry::File {
                        data: Vec::new(),
                        mode,
                    });
                    if flags & pflags::TRUNC != 0
                        && let Entry::File { data, .. } = entry
                    {
                        data.clear();
                    }
                    return self.handle(id, path);
                }
            }
            kind::OPENDIR => {
                let path = f.text().expect("path");
                return self.handle(id, path);
            }
            kind::WRITE => {
                let path = self.path_of(f.string().expect("handle"));
                let offset = usize::try_from(f.u64().expect("offset")).expect("offset");
                let bytes = f.string().expect("data");
                if let Some(Entry::File { data, .. }) = self.entries.get_mut(&path) {
                    if data.len() < offset + bytes.len() {
                        data.resize(offset + bytes.len(), 0);
                    }
                    data[offset..offset + bytes.len()].copy_from_slice(bytes);
                    status::OK
                } else {
                    status::FAILURE
                }
            }
            kind::READ => {
                let path = self.path_of(f.string().expect("handle"));
                let offset = usize::try_from(f.u64().expect("offset")).expect("offset");
                let len = f.u32().expect("len") as usize;
                match self.entries.get(&path) {
                    Some(Entry::File { data, .. }) if offset < data.len() => {
                        let end = data.len().min(offset + len);
                        return data_reply(id, &data[offset..end]);
                    }
                    _ => status::EOF,
                }
            }
            kind::READDIR => status::EOF,
            kind::CLOSE => {
                let handle = f.string().expect("handle").to_vec();
                match self.handles.remove(&handle) {
                    Some(_) => status::OK,
                    None => status::FAILURE,
                }
            }
            kind::REMOVE | kind::RMDIR => {
                let path = f.text().expect("path");
                match self.entries.remove(&path) {
                    Some(_) => status::OK,
                    None => NO_SUCH_FILE,
                }
            }
            kind::MKDIR => {
                let path = f.text().expect("path");
                self.entries.insert(path, Entry::Dir);
                status::OK
            }
            kind::RENAME => {
                let (from, to) = (f.text().expect("from"), f.text().expect("to"));
                self.rename(&from, &to, false)
            }
            kind::SYMLINK => {
                let (target, link) = (f.text().expect("target"), f.text().expect("link"));
                self.entries.insert(link, Entry::Link(target));
                status::OK
            }
            kind::STAT | kind::LSTAT => {
                let path = f.text().expect("path");
                let permissions = match self.entries.get(&path) {
                    Some(Entry::File { mode, .. }) => 0o100_000 | mode,
                    Some(Entry::Dir) => 0o040_755,
                    Some(Entry::Link(_)) => 0o120_777,
                    None => return status_reply(id, NO_SUCH_FILE),
                };
                return attrs_reply(id, permissions);
            }
            kind::SETSTAT | kind::FSETSTAT => {
                let path = if op == kind::SETSTAT {
                    f.text().expect("path")
                } else {
                    self.path_of(f.string().expect("handle"))
                };
                let attrs = f.attrs().expect("attrs");
                match (self.entries.get_mut(&path), attrs.permissions) {
                    (Some(Entry::File { mode, .. }), Some(p)) => {
                        *mode = p & 0o7777;
                        status::OK
                    }
                    (Some(_), _) => status::OK,
                    (None, _) => NO_SUCH_FILE,
                }
            }
            kind::EXTENDED => {
                let name = f.text().expect("name");
                if name == "posix-rename@openssh.com" {
                    let (from, to) = (f.text().expect("from"), f.text().expect("to"));
                    self.rename(&from, &to, true)
                } else {
                    status::OP_UNSUPPORTED
                }
            }
            _ => status::OK,
        };
        status_reply(id, code)
    }

    fn handle(&mut self, id: u32, path: String) -> Bytes {
        self.next_handle += 1;
        let handle = self.next_handle.to_string().into_bytes();
        self.handles.insert(handle.clone(), path);
        let mut body = vec![kind::HANDLE];
        body.extend_from_slice(&id.to_be_bytes());
        put_string(&mut body, &handle);
        framed(&body)
    }

    fn path_of(&self, handle: &[u8]) -> String {
        self.handles.get(handle).cloned().unwrap_or_default()
    }

    fn rename(&mut self, from: &str, to: &str, replace: bool) -> u32 {
        if !replace && self.entries.contains_key(to) {
            return status::FAILURE;
        }
        match self.entries.remove(from) {
            Some(entry) => {
                self.entries.insert(to.to_owned(), entry);
                status::OK
            }
            None => NO_SUCH_FILE,
        }
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&u32::try_from(s.len()).expect("short").to_be_bytes());
    out.extend_from_slice(s);
}

fn framed(body: &[u8]) -> Bytes {
    let mut packet = Vec::new();
    put_string(&mut packet, body);
    Bytes::from(packet)
}

fn status_reply(id: u32, code: u32) -> Bytes {
    let mut body = vec![kind::STATUS];
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&code.to_be_bytes());
    put_string(&mut body, b"");
    put_string(&mut body, b"");
    framed(&body)
}

fn data_reply(id: u32, data: &[u8]) -> Bytes {
    let mut body = vec![kind::DATA];
    body.extend_from_slice(&id.to_be_bytes());
    put_string(&mut body, data);
    framed(&body)
}

fn attrs_reply(id: u32, permissions: u32) -> Bytes {
    let mut body = vec![kind::ATTRS];
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&attr::PERMISSIONS.to_be_bytes());
    body.extend_from_slice(&permissions.to_be_bytes());
    framed(&body)
}
