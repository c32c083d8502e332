//! Plan files: both syntaxes, and errors that name the field.

use super::*;

const TOML: &str = r#"
engineers = ["alice", "bob"]
targets = ["db01"]
start = "2026-12-01T09:00:00+09:00"
end = "2026-12-01T12:00:00+09:00"
purpose = "apply the December security patches"
allow = ["upload", "script"]
personal_data = "verify the patient index"
data_deletion = "delete /tmp/export"

[[steps]]
text = "stop the PACS service"
expect = ['systemctl stop pacs*']

[[steps]]
text = "apt upgrade"
"#;

#[test]
fn a_toml_file_becomes_a_request() {
    let parsed = parse(TOML, Format::Toml).unwrap();
    assert_eq!(parsed.engineers.len(), 2);
    let r = parsed.into_request("acme".parse().unwrap());
    assert_eq!(r.starts_at.to_rfc3339(), "2026-12-01T00:00:00+00:00");
    assert!(r.allow.upload && !r.allow.download);
    assert!(r.allow.content.contains(ContentKind::Script));
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[0].expect, ["systemctl stop pacs*"]);
    assert!(r.steps[1].expect.is_empty());
    assert_eq!(r.data_deletion.as_deref(), Some("delete /tmp/export"));
}

#[test]
fn a_json_file_with_plain_steps_becomes_a_request() {
    let json = r#"{"engineers": ["alice"], "targets": ["db01"],
        "start": "2026-12-01T09:00:00+09:00", "end": "2026-12-01T12:00:00+09:00",
        "purpose": "patch", "steps": ["stop", {"text": "upgrade", "expect": ["^apt"]}]}"#;
    let r = parse(json, Format::Json)
        .unwrap()
        .into_request("acme".parse().unwrap());
    assert_eq!(r.steps[0].text, "stop");
    assert_eq!(r.steps[1].expect, ["^apt"]);
    assert_eq!(r.allow, Allowances::default());
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (TOML.replace("\"bob\"", "\"Bob Smith\""), "engineers[1]"),
        (
            TOML.replace("2026-12-01T09:00:00+09:00", "tomorrow"),
            "start",
        ),
        (TOML.replace("\"script\"", "\"everything\""), "allow[1]"),
        (TOML.replace("purpose =", "porpose ="), "porpose"),
        (TOML.replace("targets = [\"db01\"]\n", ""), "targets"),
    ];
    for (text, field) in cases {
        let err = parse(&text, Format::Toml).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    let err = parse("{\"engineers\": 3}", Format::Json).unwrap_err();
    assert!(matches!(err, PlanFileError::Syntax(_)), "{err}");
    assert_eq!(Format::of_name("plan.JSON"), Format::Json);
    assert_eq!(Format::of_name("plan.toml"), Format::Toml);
}
