//! Procedural macros for goro: `#[goro::main]` and `#[goro::test]`.
//!
//! Both turn an `async fn` into a plain fn that builds a goro runtime and
//! runs the body as the main goroutine. Options (comma separated):
//! `procs = N` (worker threads) for both; for tests also
//! `leak_check = false` (the test fails by default when it leaves
//! goroutines behind), `deadlock_check = false` (a deadlocked test fails
//! with the goroutine dump by default) and `start_paused = true` (the
//! virtual clock), and the seeded scheduling ones: `seed = N` (one seed),
//! `seeds = K` (K seeds), `chaos = true` (injected yields; alone, the
//! default seed count).

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::{
    parse::Parser, punctuated::Punctuated, spanned::Spanned, Expr, ExprLit, ItemFn, Lit,
    MetaNameValue, Token,
};

struct Options {
    procs: Option<Expr>,
    leak_check: bool,
    deadlock_check: bool,
    start_paused: bool,
    seed: Option<Expr>,
    seeds: Option<Expr>,
    chaos: bool,
}

fn bool_value(name: &str, value: &Expr) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new(
            other.span(),
            format!("{name} takes `true` or `false`"),
        )),
    }
}

fn parse_options(attr: TokenStream, allow_test_keys: bool) -> syn::Result<Options> {
    let mut opts = Options {
        procs: None,
        leak_check: true,
        deadlock_check: true,
        start_paused: false,
        seed: None,
        seeds: None,
        chaos: false,
    };
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(attr)?;
    for arg in args {
        let name = arg
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match name.as_str() {
            "procs" => opts.procs = Some(arg.value),
            "leak_check" if allow_test_keys => {
                opts.leak_check = bool_value(&name, &arg.value)?;
            }
            "deadlock_check" if allow_test_keys => {
                opts.deadlock_check = bool_value(&name, &arg.value)?;
            }
            "start_paused" if allow_test_keys => {
                opts.start_paused = bool_value(&name, &arg.value)?;
            }
            "seed" if allow_test_keys && opts.seeds.is_none() => opts.seed = Some(arg.value),
            "seeds" if allow_test_keys && opts.seed.is_none() => opts.seeds = Some(arg.value),
            "seed" | "seeds" if allow_test_keys => {
                return Err(syn::Error::new(
                    arg.path.span(),
                    "give either `seed = N` (one seed) or `seeds = K` (K seeds), not both",
                ));
            }
            "chaos" if allow_test_keys => {
                opts.chaos = bool_value(&name, &arg.value)?;
            }
            _ => {
                let known = if allow_test_keys {
                    "`procs = N`, `leak_check = false`, `deadlock_check = false`, \
                     `start_paused = true`, `seed = N`, `seeds = K`, `chaos = true`"
                } else {
                    "`procs = N`"
                };
                return Err(syn::Error::new(
                    arg.path.span(),
                    format!("unknown goro option `{name}`; expected {known}"),
                ));
            }
        }
    }
    Ok(opts)
}

fn check_async(f: &ItemFn, what: &str) -> syn::Result<()> {
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            format!("#[goro::{what}] goes on an `async fn`"),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            f.sig.inputs.span(),
            format!("#[goro::{what}] functions take no arguments"),
        ));
    }
    Ok(())
}

fn builder(opts: &Options) -> TokenStream2 {
    let mut b = match &opts.procs {
        Some(p) => quote! { ::goro::Runtime::builder().procs(#p) },
        None => quote! { ::goro::Runtime::builder() },
    };
    if !opts.deadlock_check {
        b = quote! { #b.deadlock_detection(false) };
    }
    if opts.start_paused {
        b = quote! { #b.start_paused(true) };
    }
    b
}

/// Runs `async fn main` as the main goroutine of a goro runtime; when it
/// returns, every goroutine still alive is dropped, as in Go.
///
/// ```
/// #[goro::main]
/// async fn main() {
///     let h = goro::go(async { 2 + 2 });
///     assert_eq!(h.await.unwrap(), 4);
/// }
/// # fn _x() {}
/// ```
///
/// `#[goro::main(procs = 2)]` sets the number of worker threads.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let original = item.clone();
    expand_main(attr, item).unwrap_or_else(|e| with_error(e, original))
}

/// The error, plus the function made a plain one with a stub body, so
/// that the only error the user sees is ours: not a follow-up "main
/// function not found", nor "`main` function is not allowed to be
/// `async`" for the `async fn` we did not get to rewrite.
fn with_error(e: syn::Error, item: TokenStream) -> TokenStream {
    let mut out: TokenStream2 = e.to_compile_error();
    match syn::parse::<ItemFn>(item.clone()) {
        Ok(mut f) => {
            f.sig.asyncness = None;
            f.block = syn::parse_quote!({ ::core::unimplemented!() });
            out.extend(quote!(#[allow(dead_code, unused_variables)] #f));
        }
        Err(_) => out.extend(TokenStream2::from(item)),
    }
    out.into()
}

fn expand_main(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let opts = parse_options(attr, false)?;
    let mut f: ItemFn = syn::parse(item)?;
    check_async(&f, "main")?;
    f.sig.asyncness = None;
    let body = &f.block;
    let b = builder(&opts);
    let span = f.sig.ident.span();
    let new_body = quote_spanned! {span=>
        {
            let __goro_rt = #b.build().expect("goro: cannot start the runtime");
            #[allow(clippy::let_unit_value)]
            let __goro_out = __goro_rt.block_on(async move #body);
            drop(__goro_rt);
            __goro_out
        }
    };
    f.block = syn::parse2(new_body)?;
    Ok(quote!(#f).into())
}

/// A test that runs on its own goro runtime, and fails when it leaves
/// goroutines running or blocked after its body returns (after a short
/// grace period), listing each one as the goroutine dump does.
///
/// ```
/// #[goro::test]
/// async fn adds() {
///     assert_eq!(goro::go(async { 1 + 1 }).await.unwrap(), 2);
/// }
/// # fn main() {}
/// ```
///
/// A test whose goroutines all block on goro primitives with nothing
/// left to wake them fails with Go's `all goroutines are asleep -
/// deadlock!` and the dump (after the state has held still for a second),
/// instead of hanging.
///
/// With `start_paused = true` the runtime's clock stands still and jumps
/// to the next timer whenever every goroutine is blocked, so timeouts
/// fire at once, in order:
///
/// ```
/// #[goro::test(start_paused = true)]
/// async fn an_hour_passes_at_once() {
///     let start = goro::time::now();
///     goro::time::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(goro::time::now() - start, std::time::Duration::from_secs(3600));
/// }
/// # fn main() {}
/// ```
///
/// With `seed = N` the test runs under seeded, replayable scheduling
/// ([`Builder::seed`](../goro/struct.Builder.html#method.seed)): one
/// thread, every scheduling choice drawn from the seed, the virtual clock.
/// With `seeds = K` it runs under K seeds (`goro::testing::seeds`: from a
/// fixed base; `GORO_SEEDS=K` changes the count, `GORO_SEED=n` runs just
/// seed `n`); a failure prints `GORO_SEED=<n>` and the command that
/// replays it. `chaos = true` injects yields at channel operations and
/// lock acquisitions; alone it implies `seeds = goro::testing::DEFAULT_SEEDS`.
///
/// ```
/// #[goro::test(seeds = 20, chaos = true)]
/// async fn counter_is_exact_under_every_seed() {
///     let m = std::sync::Arc::new(goro::sync::Mutex::new(0));
///     let wg = goro::sync::WaitGroup::new();
///     for _ in 0..10 {
///         wg.add(1);
///         let (m, wg) = (m.clone(), wg.clone());
///         goro::go(async move {
///             *m.lock().await += 1;
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(*m.lock().await, 10);
/// }
/// # fn main() {}
/// ```
///
/// Options: `procs = N`, `leak_check = false`, `deadlock_check = false`,
/// `start_paused = true`, `seed = N`, `seeds = K`, `chaos = true`.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let original = item.clone();
    expand_test(attr, item).unwrap_or_else(|e| with_error(e, original))
}

fn expand_test(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let opts = parse_options(attr, true)?;
    let mut f: ItemFn = syn::parse(item)?;
    check_async(&f, "test")?;
    f.sig.asyncness = None;
    let body = &f.block;
    let b = builder(&opts);
    let leak = opts.leak_check;
    let seeds = match (&opts.seed, &opts.seeds) {
        (Some(n), _) => Some(quote! {
            match ::std::env::var("GORO_SEED").ok().and_then(|s| s.trim().parse::<u64>().ok()) {
                Some(n) => ::std::vec![n],
                None => ::std::vec![#n],
            }
        }),
        (None, Some(k)) => Some(quote! { ::goro::testing::seeds(#k) }),
        (None, None) if opts.chaos => {
            Some(quote! { ::goro::testing::seeds(::goro::testing::DEFAULT_SEEDS) })
        }
        (None, None) => None,
    };
    let new_body = match seeds {
        None => quote_spanned! {Span::call_site()=>
            {
                let __goro_rt = #b.build().expect("goro: cannot start the runtime");
                ::goro::testing::run_test(__goro_rt, #leak, async move #body)
            }
        },
        Some(seeds) => {
            let chaos = opts.chaos;
            let name = f.sig.ident.to_string();
            if !matches!(f.sig.output, syn::ReturnType::Default) {
                return Err(syn::Error::new(
                    f.sig.output.span(),
                    "a seeded #[goro::test] returns `()` (it runs once per seed)",
                ));
            }
            quote_spanned! {Span::call_site()=>
                {
                    ::goro::testing::run_seeded_test(
                        || #b,
                        #leak,
                        &#seeds,
                        #chaos,
                        ::core::concat!(::core::module_path!(), "::", #name),
                        ::core::env!("CARGO_PKG_NAME"),
                        || async move #body,
                    )
                }
            }
        }
    };
    f.block = syn::parse2(new_body)?;
    let attrs = &f.attrs;
    let has_test_attr = attrs.iter().any(|a| a.path().is_ident("test"));
    let test_attr = if has_test_attr {
        quote!()
    } else {
        quote!(#[::core::prelude::v1::test])
    };
    Ok(quote!(#test_attr #f).into())
}
