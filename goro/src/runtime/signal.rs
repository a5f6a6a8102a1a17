//! `SIGQUIT` (Ctrl-\): print every goroutine and exit with status 2, as a
//! Go program does.
//!
//! The signal handler itself only writes to a pipe (signal-hook's
//! iterator); a thread of goro's reads it, takes the dump outside signal
//! context, prints it to stderr and exits. Installed once per process.

use std::sync::Once;

/// Installs the handler and its thread, once per process.
pub(crate) fn install_sigquit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(install);
}

#[cfg(all(unix, feature = "signal"))]
fn install() {
    use signal_hook::{consts::SIGQUIT, iterator::Signals};
    let mut signals = match Signals::new([SIGQUIT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("goro: cannot install the SIGQUIT handler: {e}");
            return;
        }
    };
    let counted = super::deadlock::goro_thread();
    let started = std::thread::Builder::new()
        .name("goro-signal".into())
        .spawn(move || {
            let _counted = counted;
            if signals.forever().next().is_some() {
                let d = super::dump::dump_all();
                eprintln!("SIGQUIT: quit\n\n{d}");
                std::process::exit(2);
            }
        });
    if let Err(e) = started {
        eprintln!("goro: cannot start the SIGQUIT thread: {e}");
    }
}

#[cfg(not(all(unix, feature = "signal")))]
fn install() {}
