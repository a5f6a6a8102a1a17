#!/usr/bin/env python3
"""Lists goro's public items whose docs have no code example.

Builds rustdoc's JSON for goro (all features; RUSTC_BOOTSTRAP=1 because the
JSON output is unstable) and walks the public API from the crate root:
public modules, the items they define or re-export, and the methods of
inherent impls. Trait impls (Debug, Future, ...), fields and enum variants
are not listed: their trait or type carries the example.

Usage: .ci/items_without_examples.py [--max N] [--json PATH]
  --max N     exit 1 when more than N items lack an example (for CI)
  --json PATH use an existing rustdoc JSON file instead of building one
Prints one `path  (kind, file:line)` per item, most important modules first.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Modules in the order a new user meets them; the rest follow.
ORDER = ["goro", "goro::chan", "goro::runtime", "goro::sync", "goro::time",
         "goro::context", "goro::errgroup", "goro::net", "goro::testing"]


def build_json():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target", "docsrs")
    env = dict(os.environ, RUSTC_BOOTSTRAP="1", CARGO_TARGET_DIR=target,
               RUSTDOCFLAGS="-Z unstable-options --output-format json")
    subprocess.run(["cargo", "doc", "--no-deps", "-p", "goro", "--all-features", "-q"],
                   cwd=ROOT, env=env, check=True)
    return os.path.join(target, "doc", "goro.json")


def has_example(docs):
    return docs is not None and "```" in docs


def main():
    args = sys.argv[1:]
    max_missing = None
    path = None
    while args:
        a = args.pop(0)
        if a == "--max":
            max_missing = int(args.pop(0))
        elif a == "--json":
            path = args.pop(0)
        else:
            sys.exit(__doc__)
    path = path or build_json()
    with open(path) as f:
        d = json.load(f)
    index = d["index"]

    def item(i):
        return index.get(str(i)) or index.get(i)

    seen = set()
    found = []  # (module, path, kind, span)

    def visit(i, module, prefix):
        it = item(i)
        if it is None or it["id"] in seen:
            return
        kind, inner = next(iter(it["inner"].items()))
        if kind == "use":
            target = inner.get("id")
            if target is not None and not inner.get("is_glob"):
                t = item(target)
                if t is not None and t["crate_id"] == 0:
                    # Listed under the name it is exported as.
                    visit_named(t, module, prefix, inner["name"])
            return
        visit_named(it, module, prefix, it["name"])

    def visit_named(it, module, prefix, name):
        if it["id"] in seen:
            return
        seen.add(it["id"])
        kind, inner = next(iter(it["inner"].items()))
        if it["visibility"] != "public" and kind != "use":
            return
        full = f"{prefix}::{name}" if name else prefix
        span = it.get("span") or {}
        where = f'{span.get("filename", "?")}:{(span.get("begin") or [0])[0]}'
        if kind == "module":
            if not has_example(it["docs"]):
                found.append((full, full, "module page", where))
            for c in inner["items"]:
                visit(c, full, full)
            return
        if kind in ("struct", "enum", "trait", "function", "macro", "type_alias",
                    "constant", "static", "union"):
            if not has_example(it["docs"]):
                found.append((module, full, kind, where))
        if kind == "trait":
            for c in inner.get("items", []):
                m = item(c)
                if m and not has_example(m["docs"]):
                    found.append((module, f"{full}::{m['name']}", "trait item", where))
        for impl_id in inner.get("impls", []) if isinstance(inner, dict) else []:
            imp = item(impl_id)
            if imp is None:
                continue
            ii = imp["inner"]["impl"]
            if ii.get("trait") is not None or ii.get("is_synthetic") or ii.get("blanket_impl"):
                continue
            for m_id in ii["items"]:
                m = item(m_id)
                if m is None or m["visibility"] != "public":
                    continue
                mk = next(iter(m["inner"]))
                if mk in ("function", "constant") and not has_example(m["docs"]):
                    ms = m.get("span") or {}
                    mw = f'{ms.get("filename", "?")}:{(ms.get("begin") or [0])[0]}'
                    found.append((module, f"{full}::{m['name']}", "method", mw))

    root = item(d["root"])
    seen.add(root["id"])
    for c in root["inner"]["module"]["items"]:
        visit(c, "goro", "goro")

    def rank(entry):
        mod = entry[0]
        top = "::".join(mod.split("::")[:2])
        return (ORDER.index(top) if top in ORDER else len(ORDER), entry[1])

    found.sort(key=rank)
    for _, p, kind, where in found:
        print(f"{p}  ({kind}, {where})")
    print(f"{len(found)} public item(s) without an example", file=sys.stderr)
    if max_missing is not None and len(found) > max_missing:
        sys.exit(f"more than {max_missing}: add examples")


if __name__ == "__main__":
    main()
