use std::os::unix::fs::{PermissionsExt, symlink};

use uuid::Uuid;

use super::*;

fn started() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + 86_400 * 40, 0).unwrap() // 2026-02-10
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_private_files_in_dated_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path().join("recordings"));
    let id = RecordingId::channel(Uuid::from_u128(9), 2);
    let mut sink = disk.open(&id, started()).unwrap();
    let stem = "00000000-0000-0000-0000-000000000009-ch2";
    for (kind, ext) in [
        (FileKind::Cast, "cast"),
        (FileKind::Data, "data"),
        (FileKind::Transfers, "transfers.jsonl"),
    ] {
        let name = format!("2026/02/10/{stem}.{ext}");
        assert_eq!(sink.name(kind), name);
        assert_eq!(disk.path(&id, started(), kind), disk.root().join(&name));
        assert_eq!(mode(&disk.root().join(&name)), 0o600, "{name}");
    }
    assert_eq!(mode(&disk.root().join("2026/02/10")), 0o700);
    sink.append(FileKind::Cast, b"line\n").unwrap();
    sink.flush(FileKind::Cast).unwrap();
    sink.close(FileKind::Cast).unwrap();
    assert!(sink.append(FileKind::Cast, b"more\n").is_err(), "closed");
    assert_eq!(sink.name(FileKind::Cast), format!("2026/02/10/{stem}.cast"));
    assert_eq!(
        fs::read(disk.path(&id, started(), FileKind::Cast)).unwrap(),
        b"line\n"
    );
}

#[test]
fn never_reopens_an_existing_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let id = RecordingId::session(Uuid::from_u128(1));
    let mut first = disk.open(&id, started()).unwrap();
    first.append(FileKind::Cast, b"evidence\n").unwrap();
    let err = disk.open(&id, started()).err().unwrap();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    let cast = disk.path(&id, started(), FileKind::Cast);
    assert_eq!(fs::read(cast).unwrap(), b"evidence\n");
}

/// Fail closed: an unusable directory is a typed error, and nothing is left behind. We run
/// as root in CI, where permission bits do not stop writes, so the cases use places no
/// one can write: below a regular file, and inside procfs.
#[test]
fn unwritable_directory_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let id = RecordingId::session(Uuid::from_u128(2));
    fs::write(tmp.path().join("file"), b"").unwrap();
    let err = LocalDisk::new(tmp.path().join("file/recordings")).open(&id, started());
    assert!(
        matches!(err, Err(Error::CreateDir { .. })),
        "below a file: {:?}",
        err.err()
    );

    // The dated directory exists but refuses new files: the cast cannot be created.
    let root = tmp.path().join("ro");
    fs::create_dir_all(root.join("2026/02")).unwrap();
    symlink("/proc", root.join("2026/02/10")).unwrap();
    match LocalDisk::new(&root).open(&id, started()) {
        Err(Error::CreateFile { path, .. }) => assert!(path.ends_with(format!("{id}.cast"))),
        other => panic!("inside procfs: {:?}", other.err()),
    }

    // Permission bits, where they apply (not as root).
    let locked = tmp.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
    if File::create(locked.join("probe")).is_err() {
        let err = LocalDisk::new(&locked).open(&id, started());
        assert!(
            matches!(err, Err(Error::CreateDir { .. })),
            "{:?}",
            err.err()
        );
    }
}

/// When the second file cannot be created, the first is removed again.
#[test]
fn partial_open_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let id = RecordingId::session(Uuid::from_u128(3));
    let data = disk.path(&id, started(), FileKind::Data);
    fs::create_dir_all(data.parent().unwrap()).unwrap();
    fs::write(&data, b"stale").unwrap();
    let err = disk.open(&id, started()).err().unwrap();
    assert!(
        matches!(err, Error::AlreadyExists { ref path } if *path == data),
        "{err:?}"
    );
    assert!(!disk.path(&id, started(), FileKind::Cast).exists());
}

/// A session's recordings are found by their casts, across days, and nothing else is.
#[test]
fn finds_a_sessions_recordings_across_days() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let session = Uuid::from_u128(7);
    let next_day = started() + chrono::Duration::days(1);
    for (id, at) in [
        (RecordingId::channel(session, 2), next_day), // past midnight UTC
        (RecordingId::channel(session, 0), started()),
        (RecordingId::channel(Uuid::from_u128(8), 0), started()), // another session
    ] {
        drop(disk.open(&id, at).unwrap());
    }
    // Strays: not a cast, not a stem of ours.
    let day = disk.root().join("2026/02/10");
    fs::write(
        day.join("00000000-0000-0000-0000-000000000007-ch9.cast.bak"),
        b"",
    )
    .unwrap();
    fs::write(
        day.join("00000000-0000-0000-0000-000000000007-ch09.cast"),
        b"",
    )
    .unwrap();

    let from = started().date_naive();
    let found = disk
        .find_session(session, from, next_day.date_naive())
        .unwrap();
    let names: Vec<_> = found.iter().map(|f| f.name(FileKind::Cast)).collect();
    assert_eq!(
        names,
        [
            "2026/02/10/00000000-0000-0000-0000-000000000007-ch0.cast",
            "2026/02/11/00000000-0000-0000-0000-000000000007-ch2.cast",
        ]
    );
    assert_eq!(
        found[1].name(FileKind::Data),
        "2026/02/11/00000000-0000-0000-0000-000000000007-ch2.data"
    );
    // Only the days asked for; a day with no directory is empty, not an error.
    assert_eq!(disk.find_session(session, from, from).unwrap().len(), 1);
    let later = next_day.date_naive() + chrono::Duration::days(5);
    assert!(disk.find_session(session, later, later).unwrap().is_empty());
}

/// Each kind of recording gets only its own files: an SSH recording has no `.rdp` (so its
/// seal states the same three files as before RDP existed), an RDP recording only `.rdp`;
/// each is found by its own kind, an RDP session's SSH search finds nothing.
#[test]
fn each_kind_has_only_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let ssh = RecordingId::channel(Uuid::from_u128(10), 0);
    let rdp = RecordingId::session(Uuid::from_u128(11));
    drop(disk.open(&ssh, started()).unwrap());
    let mut sink = disk.open_as(RecordingKind::Rdp, &rdp, started()).unwrap();
    assert_eq!(
        sink.name(FileKind::Rdp),
        "2026/02/10/00000000-0000-0000-0000-00000000000b.rdp"
    );
    sink.append(FileKind::Rdp, b"FUMIRDP1").unwrap();
    assert!(
        sink.append(FileKind::Cast, b"x").is_err(),
        "no cast for RDP"
    );
    let mut names: Vec<_> = fs::read_dir(disk.root().join("2026/02/10"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "00000000-0000-0000-0000-00000000000a-ch0.cast",
            "00000000-0000-0000-0000-00000000000a-ch0.data",
            "00000000-0000-0000-0000-00000000000a-ch0.transfers.jsonl",
            "00000000-0000-0000-0000-00000000000b.rdp",
        ]
    );
    let day = started().date_naive();
    let found = disk
        .find_session_as(RecordingKind::Rdp, rdp.session, day, day)
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|f| f.name(FileKind::Rdp))
            .collect::<Vec<_>>(),
        ["2026/02/10/00000000-0000-0000-0000-00000000000b.rdp"]
    );
    assert!(disk.find_session(rdp.session, day, day).unwrap().is_empty());
    assert!(
        disk.find_session_as(RecordingKind::Rdp, ssh.session, day, day)
            .unwrap()
            .is_empty()
    );
    // The same RDP recording is never created twice.
    let again = disk.open_as(RecordingKind::Rdp, &rdp, started()).err();
    assert!(
        matches!(again, Some(Error::AlreadyExists { .. })),
        "{again:?}"
    );
}
