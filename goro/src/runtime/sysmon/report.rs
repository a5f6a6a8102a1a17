//! Sysmon's warnings: once per spawn site, through `log` or on stderr.

use std::{
    collections::HashSet,
    panic::Location,
    sync::OnceLock,
    time::{Duration, Instant},
};

use super::watch::Watch;
use crate::runtime::{lock_static, Shared};

/// A goroutine still stuck after this long is reported before its poll ends.
const WARN_STILL_STUCK: Duration = Duration::from_secs(1);

/// A spawn site: file, line, column.
type Site = (&'static str, u32, u32);

/// Spawn sites already warned about, process-wide.
// loom-exempt: a static set of warned spawn sites.
fn warned() -> &'static std::sync::Mutex<HashSet<Site>> {
    static W: OnceLock<std::sync::Mutex<HashSet<Site>>> = OnceLock::new();
    W.get_or_init(|| std::sync::Mutex::new(HashSet::new()))
}

fn first_warning(site: &'static Location<'static>) -> bool {
    lock_static(warned()).insert((site.file(), site.line(), site.column()))
}

fn warning_text(
    id: u64,
    site: Option<&'static Location<'static>>,
    d: Duration,
    ended: bool,
) -> String {
    let site = site.map_or_else(
        || "unknown".to_string(),
        |s| format!("{}:{}", s.file(), s.line()),
    );
    let ms = d.as_millis();
    let how = if ended {
        format!("for {ms} ms")
    } else {
        format!("for over {ms} ms (still blocked)")
    };
    format!(
        "goro: goroutine {id} (spawned at {site}) blocked its worker {how}; \
         use spawn_blocking for blocking calls"
    )
}

/// A stuck poll has ended after `d`: warn once for its spawn site.
pub(super) fn report_ended(shared: &Shared, w: &Watch, d: Duration) {
    if !shared.sysmon.config.warn || w.reported {
        return;
    }
    if !w.goroutine_at_fault(d) {
        return;
    }
    if let Some(site) = w.site {
        if first_warning(site) {
            emit(warning_text(w.id, w.site, d, true));
        }
    }
}

/// Reports a poll still stuck after `WARN_STILL_STUCK` (one that may
/// never end).
pub(super) fn maybe_report(shared: &Shared, w: &mut Watch, now: Instant) {
    if !shared.sysmon.config.warn || w.reported {
        return;
    }
    let d = now.saturating_duration_since(w.since);
    if d < WARN_STILL_STUCK || !w.goroutine_at_fault(d) {
        return;
    }
    w.reported = true;
    if let Some(site) = w.site {
        if first_warning(site) {
            emit(warning_text(w.id, w.site, d, false));
        }
    }
}

/// Prints a runtime warning: through `log` if the program installed a
/// logger, else on stderr.
pub(crate) fn emit(msg: String) {
    if log::max_level() != log::LevelFilter::Off {
        log::warn!(target: "goro", "{msg}");
    } else {
        eprintln!("{msg}");
    }
}
