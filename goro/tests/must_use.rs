//! Every public future type carries `#[must_use]`, so that
//! `goro::time::sleep(d);` without `.await` warns instead of silently
//! doing nothing.
//!
//! The test scans `goro/src` for `impl Future for X` and checks that a
//! `pub struct X` carries the attribute; new futures are covered
//! automatically. The one exemption is listed below with its reason.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

/// Public futures that are deliberately not `#[must_use]`.
const EXEMPT: &[(&str, &str)] = &[(
    "JoinHandle",
    "dropping it detaches the goroutine, which keeps running: Go's `go f()` (as tokio's JoinHandle)",
)];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names `X` from `impl<..> Future for X<..>` (also `std::future::Future`,
/// `core::future::Future`).
fn future_impls(src: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("Future for ") {
        let before = &rest[..i];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let line = rest[line_start..].trim_start();
        let after = &rest[i + "Future for ".len()..];
        rest = after;
        if !line.starts_with("impl") {
            continue;
        }
        // The word right before `Future` must end the path (`Future`, not `TryFuture`).
        let prefix = before[line_start..].trim_end();
        if !(prefix.ends_with("impl")
            || prefix.ends_with('>')
            || prefix.ends_with("::")
            || prefix.ends_with("impl "))
        {
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

/// For each `pub struct NAME` in `src`: whether the attributes and docs
/// right above it contain `#[must_use`.
fn pub_structs(src: &str) -> BTreeMap<String, bool> {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("pub struct ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut has = false;
        for above in lines[..i].iter().rev() {
            let t = above.trim();
            if t.is_empty() || t.ends_with('}') || t.ends_with(';') && !t.starts_with("//") {
                break;
            }
            if t.starts_with("#[must_use") {
                has = true;
            }
        }
        out.insert(name, has);
    }
    out
}

#[test]
fn every_public_future_is_must_use() {
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src_dir, &mut files);
    assert!(
        files.len() > 10,
        "found only {} files under {}",
        files.len(),
        src_dir.display()
    );

    let mut futures = Vec::new();
    let mut structs = BTreeMap::new();
    for f in &files {
        let src = fs::read_to_string(f).unwrap();
        for name in future_impls(&src) {
            futures.push((name, f.clone()));
        }
        for (name, has) in pub_structs(&src) {
            // A name defined twice (in different modules) must be must_use in both.
            let e = structs.entry(name).or_insert(true);
            *e = *e && has;
        }
    }

    let mut checked = Vec::new();
    let mut missing = Vec::new();
    for (name, file) in &futures {
        let Some(&has) = structs.get(name) else {
            continue; // private future type
        };
        checked.push(name.as_str());
        if EXEMPT.iter().any(|(n, _)| n == name) {
            continue;
        }
        if !has {
            missing.push(format!("{name} (impl Future in {})", file.display()));
        }
    }
    // The scan itself works: it sees the futures known to exist.
    for known in [
        "Sleep",
        "Timeout",
        "Recv",
        "Send",
        "MutexLock",
        "JoinHandle",
    ] {
        assert!(
            checked.contains(&known),
            "scan did not find `{known}`: {checked:?}"
        );
    }
    assert!(
        missing.is_empty(),
        "public futures without #[must_use = \"...\"]:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn scanner_sees_a_missing_attribute() {
    let src = "/// A future.\n#[derive(Debug)]\npub struct Bad;\n\nimpl Future for Bad {\n}\n\
               #[must_use = \"x\"]\n/// Doc.\npub struct Good<'a> {\n}\nimpl<'a> std::future::Future for Good<'a> {}\n\
               impl TryFuture for Other {}\n";
    assert_eq!(future_impls(src), ["Bad", "Good"]);
    let s = pub_structs(src);
    assert_eq!(s.get("Bad"), Some(&false));
    assert_eq!(s.get("Good"), Some(&true));
}
