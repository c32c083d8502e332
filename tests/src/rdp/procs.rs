//! Ending what a daemon started, found in `/proc`: its descendants, or everything in its
//! private mount namespace; deepest first, with `SIGTERM` before `SIGKILL`, so that every
//! parent is still there to reap its children, and the X server and xrdp's channel server
//! remove their sockets and locks.

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::tools::poll;

/// Every live descendant of `root` (not `root` itself), parents before children.
pub(crate) fn descendants(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut found: Vec<u32> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in &table {
            if p.ppid == parent && is_alive(p.state) && !found.contains(&p.pid) {
                found.push(p.pid);
                frontier.push(p.pid);
            }
        }
    }
    found
}

/// Whether `pid` exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .is_some_and(|(_, state)| is_alive(state))
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub(crate) fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
}

/// The mount namespace `pid` is in (`mnt:[4026532177]`).
pub(crate) fn mount_namespace(pid: u32) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok()?;
    link.to_str().map(str::to_owned)
}

/// Ends every process in the mount namespace `namespace` (which must be a private one:
/// everything in it is killed), deepest first; `roots` are the ones this process started
/// and must reap.
///
/// A namespace, unlike a process tree, still holds a process whose parent died: xrdp's
/// sesman forks a session child while `Drop` runs when a login was still under way, and
/// that child, orphaned, would otherwise keep its X server and xterm running forever.
///
/// Deepest first: a process gets `SIGTERM` once everything below it is gone, so every
/// parent is still there to reap its children; an orphan would be re-parented to PID 1,
/// which in a container without an init does not reap, leaving zombies. (Leaves first is
/// not enough: the X server is a leaf, and its clients, xterm among them, die with it
/// before reaping their own children.) A process still there [`LEAF_GRACE`] after its
/// `SIGTERM` gets `SIGKILL`; after `grace` everything left does.
pub(crate) fn terminate_namespace(namespace: &str, roots: &mut [&mut Child], grace: Duration) {
    // Never every process of the test's own namespace (the caller checked at start).
    let shared = mount_namespace(std::process::id()).as_deref() == Some(namespace);
    let deadline = Instant::now() + grace;
    let mut signalled: HashMap<u32, Instant> = HashMap::new();
    loop {
        let members = if shared {
            Vec::new()
        } else {
            namespace_members(namespace)
        };
        let Some(deepest) = members.iter().map(|&(_, depth)| depth).max() else {
            break;
        };
        if Instant::now() > deadline {
            for &(pid, _) in &members {
                signal(pid, Signal::KILL);
            }
            break;
        }
        for &(pid, _) in members.iter().filter(|&&(_, depth)| depth == deepest) {
            match signalled.get(&pid) {
                None => {
                    signal(pid, Signal::TERM);
                    signalled.insert(pid, Instant::now());
                }
                Some(at) if at.elapsed() > LEAF_GRACE => signal(pid, Signal::KILL),
                Some(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for root in roots.iter_mut() {
        if !matches!(root.try_wait(), Ok(Some(_))) {
            let _ = root.kill();
        }
        let _ = root.wait();
    }
}

/// How long a process gets after `SIGTERM` before `SIGKILL`.
pub(crate) const LEAF_GRACE: Duration = Duration::from_secs(2);

/// Ends one child: `SIGTERM`, `grace` to exit, then `SIGKILL`.
pub(crate) fn terminate(child: &mut Child, grace: Duration) {
    signal(child.id(), Signal::TERM);
    if poll(grace, || child.try_wait().ok().flatten()).is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// One row of the process table.
struct Proc {
    pid: u32,
    ppid: u32,
    state: char,
}

/// Every process.
fn process_table() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (ppid, state) = parse_stat(&stat)?;
            Some(Proc { pid, ppid, state })
        })
        .collect()
}

/// The live processes in mount namespace `namespace`, each with its depth: how many of
/// its ancestors are members too.
fn namespace_members(namespace: &str) -> Vec<(u32, usize)> {
    let table = process_table();
    let members: HashMap<u32, u32> = table
        .iter()
        .filter(|p| is_alive(p.state))
        .filter(|p| mount_namespace(p.pid).as_deref() == Some(namespace))
        .map(|p| (p.pid, p.ppid))
        .collect();
    members
        .keys()
        .map(|&pid| {
            let mut depth = 0;
            let mut at = pid;
            while let Some(&parent) = members.get(&at) {
                if !members.contains_key(&parent) || depth > members.len() {
                    break;
                }
                depth += 1;
                at = parent;
            }
            (pid, depth)
        })
        .collect()
}

fn is_alive(state: char) -> bool {
    state != 'Z' && state != 'X'
}

/// `(ppid, state)` from `/proc/PID/stat`: `PID (COMM) STATE PPID ...`, where COMM may
/// itself contain spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u32, char)> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        assert_eq!(parse_stat("42 (a) b) S 7 42 42 0"), Some((7, 'S')));
        assert_eq!(parse_stat("42 (xrdp) Z 1 0"), Some((1, 'Z')));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_has_no_children_named_after_it() {
        assert!(alive(std::process::id()));
        assert!(!descendants(std::process::id()).contains(&std::process::id()));
    }
}
