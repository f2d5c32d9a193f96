#!/usr/bin/env python3
"""Check the declared `rust-version` against what the locked dependencies declare.

    python3 scripts/check_msrv.py

Reads `cargo metadata` (all features, every platform, the locked versions) and fails if a
package the library needs (normal and build dependencies, transitively) declares a newer
`rust-version` than Cargo.toml. It also prints what the tests and benches need (dev-dependencies),
which may be newer: that bounds the toolchain for working on the project, not for using it.
Stdlib only. The code's own use of newer std APIs is checked by clippy's `incompatible_msrv`
lint, which reads the same `rust-version` (wstest/all.sh runs clippy with -D warnings).
"""

import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


def show(v):
    return ".".join(map(str, v))


def main():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
        check=True, stdout=subprocess.PIPE).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    declared = packages[root].get("rust_version")
    if not declared:
        sys.exit("Cargo.toml declares no rust-version")
    declared = version(declared)

    def reachable(root_kinds):
        # Below the root only normal and build edges count: a dependency's own dev-dependencies
        # are never built for us.
        seen, stack = set(), [root]
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            for dep in nodes[pid]["deps"]:
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                allowed = root_kinds if pid == root else {None, "build"}
                if kinds & allowed:
                    stack.append(dep["pkg"])
        seen.discard(root)
        return seen

    def needs(ids):
        found = [(version(packages[i]["rust_version"]), packages[i]["name"], packages[i]["version"])
                 for i in ids if packages[i].get("rust_version")]
        return sorted(found, reverse=True)

    library = needs(reachable({None, "build"}))
    everything = needs(reachable({None, "build", "dev"}))
    top = library[0][0] if library else (1, 0)
    print(f"rust-version declared: {show(declared)}")
    print(f"library dependencies need: {show(top)} "
          f"({', '.join(f'{n} {v}' for r, n, v in library if r == top)})")
    if everything:
        dev_top = everything[0][0]
        print(f"tests and benches need: {show(dev_top)} "
              f"({', '.join(f'{n} {v}' for r, n, v in everything if r == dev_top)})")
    too_new = [(r, n, v) for r, n, v in library if r > declared]
    if too_new:
        for r, n, v in too_new:
            print(f"  {n} {v} needs rust {show(r)}")
        sys.exit(f"rust-version {show(declared)} is older than the locked dependencies need")
    if top < declared:
        print(f"note: the dependencies would allow {show(top)}; the code itself may need {show(declared)}")


if __name__ == "__main__":
    main()
