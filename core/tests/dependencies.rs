//! The crate dependency rules of `docs/ARCHITECTURE.md` ("Dependency rules"), checked over
//! `cargo metadata --no-deps` (issue 14, deliverable 5).
//!
//! A rule names a workspace crate and what it must not depend on. Two reaches, on purpose:
//!
//! - **outside crates** (`russh`, `ironrdp*`, `clap`) are looked for in the crate's own
//!   manifest (any kind: normal, build, dev). `--no-deps` can't see further, and need not:
//!   `recorder` decodes RDP recordings with `ironrdp-pdu`, which `core` builds through it;
//!   the rule is that `core` doesn't *speak* the protocol.
//! - **workspace crates** (`fumidai-gateway`, the protocol crates) are looked for in
//!   the crate's manifest and in every workspace crate it reaches through normal and build
//!   dependencies, so a detour through `store` is caught too.
//!
//! To add a rule, add a row to [`RULES`]; the test
//! fails while a rule names a crate the workspace doesn't have, so a rename can't silence it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a dependency's name is compared with.
#[derive(Debug, Clone, Copy)]
enum Name {
    /// This crate.
    Is(&'static str),
    /// Any crate whose name starts so (`ironrdp-…`).
    StartsWith(&'static str),
}

impl Name {
    fn matches(self, name: &str) -> bool {
        match self {
            Self::Is(n) => name == n,
            Self::StartsWith(prefix) => name.starts_with(prefix),
        }
    }
}

/// One rule: what `package` must not depend on, and why.
#[derive(Debug)]
struct Rule {
    /// The workspace crate (package name) the rule is about.
    package: &'static str,
    /// Crates it must not depend on (see the module docs for how far each is looked for).
    forbidden: &'static [Name],
    /// When set, the only workspace crates it may depend on directly.
    workspace_only: Option<&'static [&'static str]>,
    /// Said when the rule is broken.
    why: &'static str,
}

const GATEWAY: Name = Name::Is("fumidai-gateway");
const SSH: Name = Name::Is("fumidai-ssh");
const RDP: Name = Name::Is("fumidai-rdp");
const PKI: Name = Name::Is("fumidai-pki");

/// The rules.
const RULES: &[Rule] = &[
    Rule {
        package: "fumidai-core",
        forbidden: &[
            GATEWAY,
            SSH,
            RDP,
            PKI,
            Name::Is("russh"),
            Name::StartsWith("ironrdp"),
            Name::Is("clap"),
        ],
        workspace_only: None,
        why: "the core is shared by the CLI, the web console and both protocols: no protocol, no CLI parser, never the binary",
    },
    Rule {
        package: "fumidai-ssh",
        forbidden: &[GATEWAY, RDP, Name::StartsWith("ironrdp"), Name::Is("clap")],
        workspace_only: Some(&[
            "fumidai-core",
            "fumidai-pki",
            "fumidai-store",
            "fumidai-recorder",
            "fumidai-policy",
        ]),
        why: "a protocol crate depends on the core and the PKI, never on the other protocol or the binary",
    },
    Rule {
        package: "fumidai-rdp",
        forbidden: &[GATEWAY, SSH, Name::Is("russh"), Name::Is("clap")],
        workspace_only: Some(&[
            "fumidai-core",
            "fumidai-pki",
            "fumidai-store",
            "fumidai-recorder",
            "fumidai-policy",
        ]),
        why: "a protocol crate depends on the core and the PKI, never on the other protocol or the binary",
    },
    Rule {
        package: "fumidai-pki",
        forbidden: &[
            GATEWAY,
            SSH,
            RDP,
            Name::Is("russh"),
            Name::StartsWith("ironrdp"),
            Name::Is("clap"),
        ],
        workspace_only: None,
        why: "the PKI serves both protocols and the binary: it speaks neither protocol",
    },
    Rule {
        package: "fumidai-web-ui",
        forbidden: &[GATEWAY, SSH, RDP],
        workspace_only: Some(&[
            "fumidai-core",
            "fumidai-store",
            "fumidai-recorder",
            "fumidai-policy",
        ]),
        why: "the web console calls the core's use cases, never the binary's code",
    },
    Rule {
        package: "fumidai-policy",
        forbidden: &[GATEWAY],
        workspace_only: None,
        why: "nothing but the end-to-end tests depends on the binary crate",
    },
    Rule {
        package: "fumidai-store",
        forbidden: &[GATEWAY],
        workspace_only: None,
        why: "nothing but the end-to-end tests depends on the binary crate",
    },
    Rule {
        package: "fumidai-recorder",
        forbidden: &[GATEWAY],
        workspace_only: None,
        why: "nothing but the end-to-end tests depends on the binary crate",
    },
];

#[test]
fn the_workspace_keeps_its_dependency_rules() {
    let metadata = cargo_metadata().expect("cargo metadata");
    let graph = Graph::from_metadata(&metadata).expect("cargo metadata as documented");
    let broken = violations(&graph, RULES);
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n{}",
        broken.join("\n")
    );
}

// A test that cannot fail is a defect (STYLE.md §18): each kind of breach is caught.
#[test]
fn breaches_are_reported() {
    let metadata = serde_json::json!({
        "workspace_members": ["core-id", "store-id", "web-id", "ssh-id", "rdp-id"],
        "packages": [
            {"id": "core-id", "name": "fumidai-core", "dependencies": [
                {"name": "fumidai-store", "kind": null, "path": "/w/store"},
                {"name": "ironrdp-pdu", "kind": null},
                {"name": "clap", "kind": "dev"},
            ]},
            {"id": "store-id", "name": "fumidai-store", "dependencies": [
                {"name": "fumidai-gateway", "kind": null, "path": "/w/gateway"},
                {"name": "russh", "kind": null},
            ]},
            {"id": "web-id", "name": "fumidai-web-ui", "dependencies": [
                {"name": "fumidai-e2e", "kind": "dev", "path": "/w/tests"},
            ]},
            {"id": "ssh-id", "name": "fumidai-ssh", "dependencies": [
                {"name": "fumidai-rdp", "kind": null, "path": "/w/rdp"},
            ]},
            {"id": "rdp-id", "name": "fumidai-rdp", "dependencies": []},
        ],
    });
    let graph = Graph::from_metadata(&metadata).expect("well-formed");
    let broken = violations(&graph, RULES);
    let expect = [
        // Through a workspace crate.
        "fumidai-core depends on fumidai-gateway (through fumidai-store)",
        // A prefix, and a dev-dependency in its own manifest.
        "fumidai-core depends on ironrdp-pdu",
        "fumidai-core depends on clap",
        "fumidai-web-ui depends on fumidai-e2e, which is not one of",
        "fumidai-store depends on fumidai-gateway",
        // One protocol crate on the other.
        "fumidai-ssh depends on fumidai-rdp",
        // A rule about a crate that doesn't exist.
        "fumidai-recorder is not in the workspace",
    ];
    for e in expect {
        assert!(
            broken.iter().any(|b| b.contains(e)),
            "{e:?} not in {broken:#?}"
        );
    }
    // `russh` in store is store's business: core's rule reaches only workspace crates
    // through it.
    assert!(!broken.iter().any(|b| b.contains("russh")), "{broken:#?}");
}

/// `cargo metadata --format-version 1 --no-deps` for this workspace.
fn cargo_metadata() -> Result<Value, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata's JSON: {e}"))
}

/// One dependency as a manifest declares it.
#[derive(Debug)]
struct Dep {
    /// The package name (not a `package = …` rename's key).
    name: String,
    /// A workspace crate (a path dependency), to be followed.
    in_workspace: bool,
    /// `dev` dependencies count in the crate's own manifest only.
    dev: bool,
}

/// The workspace crates and their declared dependencies.
#[derive(Debug)]
struct Graph {
    deps: BTreeMap<String, Vec<Dep>>,
}

impl Graph {
    fn from_metadata(metadata: &Value) -> Result<Self, String> {
        let members: BTreeSet<&str> = metadata
            .get("workspace_members")
            .and_then(Value::as_array)
            .ok_or("no workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut deps = BTreeMap::new();
        for package in metadata
            .get("packages")
            .and_then(Value::as_array)
            .ok_or("no packages")?
        {
            let id = package.get("id").and_then(Value::as_str).ok_or("no id")?;
            if !members.contains(id) {
                continue;
            }
            let name = package
                .get("name")
                .and_then(Value::as_str)
                .ok_or("no name")?;
            let list = package
                .get("dependencies")
                .and_then(Value::as_array)
                .ok_or("no dependencies")?
                .iter()
                .map(|d| {
                    Ok(Dep {
                        name: d
                            .get("name")
                            .and_then(Value::as_str)
                            .ok_or("a dependency without a name")?
                            .to_owned(),
                        in_workspace: d.get("path").is_some_and(|p| !p.is_null()),
                        dev: d.get("kind").and_then(Value::as_str) == Some("dev"),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            deps.insert(name.to_owned(), list);
        }
        Ok(Self { deps })
    }

    /// Workspace crates `package` reaches through normal and build dependencies (and its own
    /// dev-dependencies), each with the crate it was reached through (`None`: directly).
    fn reach(&self, package: &str) -> BTreeMap<String, Option<String>> {
        let mut reached: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut todo: Vec<(String, Option<String>)> = self
            .deps
            .get(package)
            .into_iter()
            .flatten()
            .filter(|d| d.in_workspace)
            .map(|d| (d.name.clone(), None))
            .collect();
        while let Some((name, via)) = todo.pop() {
            if reached.contains_key(&name) {
                continue;
            }
            let next_via = via.clone().or_else(|| Some(name.clone()));
            for d in self.deps.get(&name).into_iter().flatten() {
                if d.in_workspace && !d.dev {
                    todo.push((d.name.clone(), next_via.clone()));
                }
            }
            reached.insert(name, via);
        }
        reached
    }
}

/// Every broken rule, one line each.
fn violations(graph: &Graph, rules: &[Rule]) -> Vec<String> {
    let mut broken = Vec::new();
    for rule in rules {
        let Some(own) = graph.deps.get(rule.package) else {
            broken.push(format!(
                "{} is not in the workspace: fix the rule's name",
                rule.package
            ));
            continue;
        };
        let reached = graph.reach(rule.package);
        for forbidden in rule.forbidden {
            for dep in own.iter().filter(|d| !d.in_workspace) {
                if forbidden.matches(&dep.name) {
                    broken.push(format!(
                        "{} depends on {}: {}",
                        rule.package, dep.name, rule.why
                    ));
                }
            }
            for (name, via) in &reached {
                if forbidden.matches(name) {
                    let through = via
                        .as_ref()
                        .map(|v| format!(" (through {v})"))
                        .unwrap_or_default();
                    broken.push(format!(
                        "{} depends on {name}{through}: {}",
                        rule.package, rule.why
                    ));
                }
            }
        }
        if let Some(allowed) = rule.workspace_only {
            for dep in own.iter().filter(|d| d.in_workspace) {
                if !allowed.contains(&dep.name.as_str()) {
                    broken.push(format!(
                        "{} depends on {}, which is not one of {allowed:?}: {}",
                        rule.package, dep.name, rule.why
                    ));
                }
            }
        }
    }
    broken
}
