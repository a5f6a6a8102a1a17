//! The grouped goroutine profile: Go's `pprof` goroutine profile at
//! `debug=1`, where goroutines with the same stack are printed once with
//! their count. A goroutine has no stack here, so "the same stack" is the
//! same status, the same blocking site and the same spawn site: 100,000
//! goroutines parked in three places print as three groups.
//!
//! ```text
//! goroutine profile: total 100001
//! 60000 @ [chan receive]
//!     src/server.rs:40
//! created at
//!     src/server.rs:31
//!
//! 40000 @ [sync.Mutex.Lock]
//!     src/server.rs:52
//! created at
//!     src/server.rs:31
//!
//! 1 @ [running]
//!     main goroutine
//! ```
//!
//! Groups are ordered largest first (ties: the group whose first goroutine
//! has the lowest id first), as Go sorts its profile by count.

use std::{collections::HashMap, fmt, panic::Location};

use super::{Dump, Status};

/// One group of a [`Grouped`] profile: how many goroutines share a status,
/// a blocking site and a spawn site.
///
/// # Examples
///
/// ```
/// use goro::runtime::{Status, WaitReason};
/// goro::run(async {
///     let (tx, rx) = goro::chan::<()>(0);
///     let hs: Vec<_> = (0..3)
///         .map(|_| {
///             let rx = rx.clone();
///             goro::go(async move { rx.recv().await })
///         })
///         .collect();
///     // Wait until all three are blocked in the same receive.
///     loop {
///         let p = goro::runtime::dump().grouped();
///         if let Some(g) = p.groups().iter().find(|g| g.count == 3) {
///             if g.status == Status::Waiting(WaitReason::ChanReceive) {
///                 assert!(g.blocked_at.is_some());
///                 break;
///             }
///         }
///         goro::yield_now().await;
///     }
///     drop(tx);
///     for h in hs {
///         h.await.unwrap();
///     }
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Group {
    /// How many goroutines are in it.
    pub count: usize,
    /// Their status.
    pub status: Status,
    /// The site of the goro call they block in (`None` unless waiting).
    pub blocked_at: Option<&'static Location<'static>>,
    /// Where they were created (`None` for main goroutines).
    pub created_at: Option<&'static Location<'static>>,
    /// The lowest goroutine id in the group, for reference.
    pub first_id: u64,
}

/// A [`Dump`] with goroutines in the same state at the same sites counted
/// once: [`Dump::grouped`]. Its `Display` prints like Go's goroutine profile
/// at `debug=1`: a total line, then one paragraph per group, largest first.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let p = goro::runtime::dump().grouped();
///     assert_eq!(p.total(), 1);
///     let text = p.to_string();
///     assert!(text.starts_with("goroutine profile: total 1\n1 @ [running]"), "{text}");
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    total: usize,
    groups: Vec<Group>,
}

impl Grouped {
    /// The groups, largest first.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let p = goro::runtime::dump().grouped();
    ///     assert_eq!(p.groups().len(), 1); // main, running
    ///     assert_eq!(p.groups()[0].count, 1);
    /// });
    /// ```
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// How many goroutines the groups count in all.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::runtime::dump().grouped().total(), 0); // outside any runtime
    /// ```
    pub fn total(&self) -> usize {
        self.total
    }
}

type Key = (
    Status,
    Option<&'static Location<'static>>,
    Option<&'static Location<'static>>,
);

impl Dump {
    /// The goroutines grouped by status, blocking site and spawn site,
    /// counted (Go's goroutine profile at `debug=1`); see [`Grouped`].
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let hs: Vec<_> = (0..100).map(|_| goro::go(std::future::pending::<()>())).collect();
    ///     let p = goro::runtime::dump().grouped();
    ///     assert_eq!(p.total(), 101);
    ///     // A hundred goroutines spawned at one site print as one group
    ///     // (or a few while some of them are still runnable).
    ///     assert!(p.groups().len() <= 4, "{p}");
    ///     hs.iter().for_each(|h| h.abort());
    /// });
    /// ```
    pub fn grouped(&self) -> Grouped {
        let mut index: HashMap<Key, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for g in self.goroutines() {
            let key = (g.status, g.blocked_at, g.created_at);
            let i = *index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    count: 0,
                    status: g.status,
                    blocked_at: g.blocked_at,
                    created_at: g.created_at,
                    first_id: g.id,
                });
                groups.len() - 1
            });
            let group = &mut groups[i];
            group.count += 1;
            group.first_id = group.first_id.min(g.id);
        }
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_id.cmp(&b.first_id)));
        Grouped {
            total: self.len(),
            groups,
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} @ [{}]", self.count, self.status)?;
        match (self.blocked_at, self.created_at) {
            (Some(at), _) => writeln!(f, "\t{at}")?,
            (None, None) => f.write_str("\tmain goroutine\n")?,
            (None, Some(_)) => {}
        }
        if let Some(at) = self.created_at {
            writeln!(f, "created at\n\t{at}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "goroutine profile: total {}", self.total)?;
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(g, f)?;
        }
        Ok(())
    }
}
