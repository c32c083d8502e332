//! Shared fixtures for unit tests.

use std::collections::BTreeMap;

use chrono::DateTime;
use uuid::Uuid;

use crate::format::asciicast::{DataMode, FumidaiMeta, Header, SessionKind};

/// A fixed header for format tests.
pub(crate) fn header() -> Header {
    Header {
        width: 80,
        height: 24,
        timestamp: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        command: Some("ls -l".into()),
        title: None,
        env: BTreeMap::from([("TERM".into(), "xterm-256color".into())]),
        fumidai: FumidaiMeta {
            session_id: Uuid::from_u128(1),
            channel: Some(0),
            engineer: "alice".into(),
            target: "pacs-01".into(),
            plan_id: "42".into(),
            kind: SessionKind::Exec,
            data: DataMode::Interactive,
        },
    }
}
