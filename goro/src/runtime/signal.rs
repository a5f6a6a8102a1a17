//! The process's signal dispatcher: one signal-hook handler that only
//! writes to a pipe, and one thread of goro's (`goro-signal`) that reads
//! it and decides, outside signal context, what each signal means.
//!
//! Who gets a signal, in order:
//! 1. the subscriptions of `goro::signal` (Go's `signal.Notify`), through
//!    the hook it installs ([`set_hook`]); the hook also swallows the
//!    signals it was told to ignore;
//! 2. otherwise Go's default behaviour for a signal goro has a handler
//!    for: `SIGQUIT` prints every goroutine and exits with status 2 (a
//!    subscribed `SIGQUIT` overrides this, as in Go); `SIGHUP`, `SIGINT`,
//!    `SIGTERM` and the job-control stops get the system's default action
//!    (the process dies by that signal); every other signal is dropped
//!    (Go: "other signals will be caught but no action will be taken").
//!
//! Handlers are installed lazily: `SIGQUIT` when a runtime starts, any
//! other signal when it is first subscribed to. signal-hook cannot take a
//! handler back out, so after the last subscription ends the signal keeps
//! goro's handler and step 2 applies — the same state as Go's after
//! `signal.Stop`.

// loom-exempt: the static subscription count of the signal dispatcher.
use std::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Once, OnceLock,
};

/// The `goro::signal` hook: takes a signal, says whether it was handled
/// (delivered to a subscription, or ignored on purpose).
pub(crate) type Hook = fn(i32) -> bool;

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Live subscriptions (channels waiting for a signal), process-wide: the
/// deadlock detector does not report while one exists, since a signal from
/// outside may wake its receiver.
static SUBSCRIPTIONS: AtomicUsize = AtomicUsize::new(0);

/// Installs the `goro::signal` hook (once; later calls do nothing).
#[cfg_attr(not(all(unix, feature = "signal")), allow(dead_code))]
pub(crate) fn set_hook(hook: Hook) {
    let _ = HOOK.set(hook);
}

/// Counts subscriptions (`+1` / `-1`).
#[cfg_attr(not(all(unix, feature = "signal")), allow(dead_code))]
pub(crate) fn add_subscriptions(delta: isize) {
    if delta >= 0 {
        SUBSCRIPTIONS.fetch_add(delta as usize, SeqCst);
    } else {
        SUBSCRIPTIONS.fetch_sub(delta.unsigned_abs(), SeqCst);
    }
}

/// Live signal subscriptions in the process.
pub(crate) fn subscriptions() -> usize {
    SUBSCRIPTIONS.load(SeqCst)
}

/// Installs the `SIGQUIT` handler (goroutine dump), once per process.
pub(crate) fn install_sigquit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(unix, feature = "signal"))]
        if let Err(e) = watch(signal_hook::consts::SIGQUIT) {
            eprintln!("goro: cannot install the SIGQUIT handler: {e}");
        }
    });
}

#[cfg(all(unix, feature = "signal"))]
pub(crate) use imp::watch;

#[cfg(all(unix, feature = "signal"))]
mod imp {
    use std::{io, sync::OnceLock};

    use signal_hook::{
        consts::{FORBIDDEN, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU},
        iterator::{Handle, Signals},
    };

    use super::HOOK;

    /// The dispatcher's handle (to add signals), once its thread runs.
    static DISPATCHER: OnceLock<io::Result<Handle>> = OnceLock::new();

    /// Makes sure goro's handler catches `sig` and the dispatcher thread
    /// runs. Signals that cannot be caught (`SIGKILL`, `SIGSTOP`) or that
    /// must stay with the runtime (`SIGSEGV`, `SIGILL`, `SIGFPE`) are
    /// refused with `InvalidInput`.
    pub(crate) fn watch(sig: i32) -> io::Result<()> {
        if FORBIDDEN.contains(&sig) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {sig} cannot be caught"),
            ));
        }
        let handle = DISPATCHER
            .get_or_init(start)
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), format!("goro: no signal dispatcher: {e}")))?;
        handle.add_signal(sig)
    }

    fn start() -> io::Result<Handle> {
        let mut signals = Signals::new::<[i32; 0], i32>([])?;
        let handle = signals.handle();
        let counted = crate::runtime::deadlock::goro_thread();
        std::thread::Builder::new()
            .name("goro-signal".into())
            .spawn(move || {
                let _counted = counted;
                for sig in signals.forever() {
                    dispatch(sig);
                }
            })?;
        Ok(handle)
    }

    /// Step 1 then step 2 of the module docs, on the dispatcher thread.
    fn dispatch(sig: i32) {
        // A subscriber's channel wakes its receiver: a foreign waker's
        // panic must not kill this thread.
        let handled = HOOK
            .get()
            .is_some_and(|hook| std::panic::catch_unwind(|| hook(sig)).unwrap_or(true));
        if handled {
            return;
        }
        match sig {
            SIGQUIT => {
                let d = crate::runtime::dump::dump_all();
                eprintln!("SIGQUIT: quit\n\n{d}");
                std::process::exit(2);
            }
            SIGHUP | SIGINT | SIGTERM | SIGTSTP | SIGTTIN | SIGTTOU => {
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            }
            _ => {}
        }
    }
}
