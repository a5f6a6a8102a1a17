//! `select!` and `select_blocking!`: thin sugar over the select driver.
//!
//! The macro pins one arm per case on the stack (a send arm evaluates its
//! value here, before anything waits), awaits a future that returns which
//! arm fired, then runs that arm's body in the enclosing code — not in a
//! closure — so `.await`, `break`, `continue`, `return` and `?` work in it.

/// Waits on several channel operations and runs the body of the one that
/// happens (Go's `select`), inside async code.
///
/// Arms: `recv(rx) -> v => body` (`v: Option<T>`, `None` = closed and
/// drained), `send(tx, value) -> res => body` (`res: Result<(), SendError<T>>`),
/// the `-> pattern` part being optional, and at most one `default => body`,
/// which runs only when no other arm is ready. When several arms are ready,
/// each is chosen with equal probability. Exactly one operation happens:
/// the other arms take and send nothing, also when the select is dropped
/// half way; a send arm's value that is not sent is dropped. A
/// [`never()`](crate::chan::never) receiver is never ready; `select! {}`
/// waits forever. The channels' item types must be `Send` (so that the
/// select future is `Send` whenever its surroundings are).
///
/// More forms (crossbeam's and tokio's):
/// - **Operands**: a `Receiver`/`Sender`, a reference to one, or an
///   `Option` of either; `None` is Go's nil channel (the arm never fires).
///   Operands may be temporaries: `recv(r.unwrap_or(&never()))`.
/// - **Guards**: `recv(rx) -> v, if cond => body` disables the arm when
///   `cond` is false, as a nil channel would.
/// - **A disabled send arm** (operand `None` or guard false) still
///   evaluates its value expression, as Go does for a nil channel; the
///   value is not sent and is dropped when the select finishes.
/// - **`default(timeout) => body`** waits up to `timeout` (a `Duration`)
///   for an arm, then runs `body`; an arm that loses to the timeout did
///   nothing (a send arm's value was not delivered). In `select!` the
///   timeout is a goro timer (it follows a paused clock).
///
/// ```
/// use std::time::Duration;
/// let (tx, rx) = goro::chan::<i32>(1);
/// let maybe_rx: Option<&goro::chan::Receiver<i32>> = None;
/// let got = goro::select_blocking! {
///     recv(maybe_rx) -> v => v,
///     send(tx, 1), if false => unreachable!(),
///     default(Duration::from_millis(5)) => None,
/// };
/// assert_eq!(got, None);
/// # drop(rx);
/// ```
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = goro::chan::<i32>(1);
/// let (done_tx, done_rx) = goro::chan::<()>(0);
/// let mut got = Vec::new();
/// for i in 0..3 {
///     goro::select! {
///         send(tx, i) -> res => res.unwrap(),
///         recv(done_rx) => unreachable!(),
///     }
///     goro::select! {
///         recv(rx) -> v => got.push(v.unwrap()),
///         default => unreachable!(),
///     }
/// }
/// drop(done_tx);
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@task [] [] $($tokens)*)
    };
}

/// [`select!`] for plain OS threads: parks the thread while it waits.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(0);
/// std::thread::spawn(move || tx.send_blocking(1).unwrap());
/// let v = goro::select_blocking! {
///     recv(rx) -> v => v,
///     recv(goro::chan::never::<i32>()) -> _ => unreachable!(),
/// };
/// assert_eq!(v, Some(1));
/// ```
#[macro_export]
macro_rules! select_blocking {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@thread [] [] $($tokens)*)
    };
}

/// Parses `select!` arms into `(kind (channel) (value) (pattern) (guard)
/// (body))`; the default goes apart as `((timeout?) (body))`.
///
/// The head of an arm is parsed here, its body by `__select_body!`, which
/// hands it back with `@arm`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Done.
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*]) => {
        $crate::__select_build!(@$mode [$($arms)*] [$($def)*] [])
    };
    // An arm's body came back.
    (@$mode:ident @arm (default $t:tt) ($body:expr) [$($arms:tt)*] [] $($rest:tt)*) => {
        $crate::__select_parse!(@$mode [$($arms)*] [($t ($body))] $($rest)*)
    };
    (@$mode:ident @arm (default $t:tt) ($body:expr) [$($arms:tt)*] [$($def:tt)+] $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` arm")
    };
    (@$mode:ident @arm ($($head:tt)*) ($body:expr) [$($arms:tt)*] [$($def:tt)*] $($rest:tt)*) => {
        $crate::__select_parse!(@$mode [$($arms)* ($($head)* ($body))] [$($def)*] $($rest)*)
    };
    // recv
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*]
        recv($rx:expr $(,)?) -> $p:pat $(, if $c:expr)? => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (recv ($rx) () ($p) ($($c)?)) $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*]
        recv($rx:expr $(,)?) $(, if $c:expr)? => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (recv ($rx) () (_) ($($c)?)) $($rest)*)
    };
    // send
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*]
        send($tx:expr, $v:expr $(,)?) -> $p:pat $(, if $c:expr)? => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (send ($tx) ($v) ($p) ($($c)?)) $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*]
        send($tx:expr, $v:expr $(,)?) $(, if $c:expr)? => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (send ($tx) ($v) (_) ($($c)?)) $($rest)*)
    };
    // default, default(timeout)
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] default => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (default ()) $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] default() => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (default ()) $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] default($t:expr $(,)?) => $($rest:tt)*) => {
        $crate::__select_body!(@$mode [$($arms)*] [$($def)*] (default ($t)) $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(
            "select!: expected `recv(rx) -> v => body`, `send(tx, value) -> res => body`, `default => body` or `default(timeout) => body` (arms may add `, if cond` before `=>`)"
        )
    };
}

/// Parses one arm's body: a block with or without a trailing comma, or an
/// expression. Block rules come first, comma first, because
/// `$body:block $(,)? $($rest:tt)*` is ambiguous to `macro_rules` (the
/// comma could start `$rest`).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_body {
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] $head:tt $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(@$mode @arm $head ($body) [$($arms)*] [$($def)*] $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] $head:tt $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@$mode @arm $head ($body) [$($arms)*] [$($def)*] $($rest)*)
    };
    (@$mode:ident [$($arms:tt)*] [$($def:tt)*] $head:tt $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@$mode @arm $head ($body) [$($arms)*] [$($def)*] $($($rest)*)?)
    };
}

/// Pins one arm per case (in nested scopes, so each gets its own hygienic
/// name), then runs the select and dispatches to the chosen body.
///
/// Each operand is bound by a `match`, so that temporaries in it (as in
/// `recv(r.unwrap_or(&never()))`) live until the select is over. A disabled
/// arm (operand `None`, or guard false) gets a never-ready channel.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_build {
    (@$mode:ident [(recv ($rx:expr) () ($p:pat) ($($c:expr)?) ($body:expr)) $($arms:tt)*] [$($def:tt)*] [$($done:tt)*]) => {
        match $rx {
            ref __goro_op => {
                #[allow(unused_imports)]
                use $crate::chan::__private::AsRecv as _;
                let mut __goro_nil = ::core::option::Option::None;
                let __goro_rx = $crate::chan::__private::recv_ref(
                    __goro_op.as_recv(),
                    $crate::__select_build!(@cond $($c)?),
                    &mut __goro_nil,
                );
                let mut __goro_arm = ::core::pin::pin!($crate::chan::__private::recv_arm(__goro_rx));
                $crate::__select_build!(@$mode [$($arms)*] [$($def)*] [$($done)* (__goro_arm ($p) ($body))])
            }
        }
    };
    (@$mode:ident [(send ($tx:expr) ($v:expr) ($p:pat) ($($c:expr)?) ($body:expr)) $($arms:tt)*] [$($def:tt)*] [$($done:tt)*]) => {
        match $tx {
            ref __goro_op => {
                #[allow(unused_imports)]
                use $crate::chan::__private::AsSend as _;
                let mut __goro_nil = ::core::option::Option::None;
                let __goro_tx = $crate::chan::__private::send_ref(
                    __goro_op.as_send(),
                    $crate::__select_build!(@cond $($c)?),
                    &mut __goro_nil,
                );
                let mut __goro_arm = ::core::pin::pin!($crate::chan::__private::send_arm(__goro_tx, $v));
                $crate::__select_build!(@$mode [$($arms)*] [$($def)*] [$($done)* (__goro_arm ($p) ($body))])
            }
        }
    };
    (@$mode:ident [] [$($def:tt)*] [$(($a:ident ($p:pat) ($body:expr)))*]) => {{
        let __goro_fired = $crate::__select_run!(@$mode
            $crate::__select_build!(@future
                ([$($crate::chan::__private::MacroArm::erase($a.as_mut())),*])
                [$($def)*]
            )
        );
        $crate::__select_build!(@dispatch __goro_fired [$($def)*] $(($a ($p) ($body)))*)
    }};
    (@cond) => { true };
    (@cond $c:expr) => { $c };
    (@future ($arms:expr) []) => {
        $crate::chan::__private::SelectFuture::new($arms, false)
    };
    (@future ($arms:expr) [(() ($d:expr))]) => {
        $crate::chan::__private::SelectFuture::new($arms, true)
    };
    (@future ($arms:expr) [(($t:expr) ($d:expr))]) => {
        $crate::chan::__private::SelectFuture::with_timeout($arms, $t)
    };
    (@dispatch $fired:ident [] $(($a:ident ($p:pat) ($body:expr)))*) => {{
        let _ = $fired;
        $(
            if $crate::chan::__private::MacroArm::chosen(&*$a) {
                let $p = $crate::chan::__private::MacroArm::take($a.as_mut());
                $body
            } else
        )* {
            ::core::unreachable!("goro: select woke without a chosen arm")
        }
    }};
    (@dispatch $fired:ident [($t:tt ($d:expr))] $(($a:ident ($p:pat) ($body:expr)))*) => {{
        if $fired.is_none() {
            $d
        } else $(
            if $crate::chan::__private::MacroArm::chosen(&*$a) {
                let $p = $crate::chan::__private::MacroArm::take($a.as_mut());
                $body
            } else
        )* {
            ::core::unreachable!("goro: select woke without a chosen arm")
        }
    }};
}

/// Runs the select future: `.await` or park the thread.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_run {
    (@task $fut:expr) => {
        $fut.await
    };
    (@thread $fut:expr) => {
        $fut.block()
    };
}
