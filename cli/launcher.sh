#!/bin/sh
# berth: the bin (npm run build copies this file to dist/cli/berth).
#
# An operator command (status, apply, restart -w, …) starts from the CLI's V8
# start-up snapshot, dist/cli/berth.blob, when one was built for this very Node
# binary: commander, grpc-js, protobufjs and berth's client are then already
# loaded, not compiled and run again on every call (README, "CLI start-up").
# Anything else runs dist/cli/main.js, as `node dist/cli/main.js` always can:
# - the daemons (controller, agent, dev, lb): the snapshot does not hold them;
# - no blob, or berth.blob.stamp does not name this node and this blob (another
#   Node, a rebuilt blob): a blob from another binary fails to load;
# - NODE_OPTIONS set (V8 flags in it make the blob fail to load), or GRPC_*
#   variables that grpc-js reads as it loads (they would be frozen at build time;
#   not GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, used only when no CA is given, and berth
#   always gives its controller's);
# - BERTH_NO_SNAPSHOT set.
# BERTH_LAUNCH_TRACE=1 says on stderr which it ran, and why.
#
# A snapshot run gets two settings that only make it start faster. Operator
# commands make one kind of TLS connection, to the controller, trusting only its
# CA (BERTH_CA), which replaces Node's roots; yet Node 20 parses its ~140 bundled
# roots first (~45 ms, nodejs/node#56301), and all of NODE_EXTRA_CA_CERTS at
# start (~85 ms for a system bundle). With --use-openssl-ca and empty
# SSL_CERT_FILE/SSL_CERT_DIR that root store is empty; NODE_EXTRA_CA_CERTS is
# dropped. What is trusted for the controller is unchanged: its CA, nothing else.

# This file's own folder, through npm's bin symlinks (relative ones too).
self=$0
case $self in */*) ;; *) self=./$self ;; esac
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in
    /*) self=$link ;;
    *) self=${self%/*}/$link ;;
  esac
done
dir=${self%/*}
main=$dir/main.js
blob=$dir/berth.blob

plain() {
  [ -n "${BERTH_LAUNCH_TRACE:-}" ] && echo "berth launcher: main.js ($1)" >&2
  shift
  exec node "$main" "$@"
}

# A controller runs on jemalloc where it is installed: it holds a TLS connection per agent, whose
# native memory glibc's malloc fragments (about a sixth more a host). The same choice, and the
# same paths, as shared/malloc.ts (controllerEnv), which `berth dev` and the tests use.
# BERTH_MALLOC: unset or auto (jemalloc if found), jemalloc (or exit 2), glibc.
jemalloc() {
  case ${BERTH_MALLOC:-auto} in
    glibc)
      # No jemalloc preloaded, whoever put one in LD_PRELOAD (ld.so takes ':' or ' ' between).
      kept=
      ifs=$IFS
      IFS=': '
      for p in ${LD_PRELOAD:-}; do
        case $p in *libjemalloc*) ;; *) kept=${kept:+$kept:}$p ;; esac
      done
      IFS=$ifs
      if [ -n "$kept" ]; then LD_PRELOAD=$kept; export LD_PRELOAD; else unset LD_PRELOAD; fi
      return 0
      ;;
    auto | jemalloc) ;;
    *) echo "berth: BERTH_MALLOC=$BERTH_MALLOC: expected auto, jemalloc, glibc" >&2; exit 2 ;;
  esac
  case ${LD_PRELOAD:-} in *libjemalloc*) return 0 ;; esac
  # This machine's own multiarch folder only: ld.so ignores another architecture's library, silently.
  for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
    if [ -e "$lib" ]; then
      LD_PRELOAD=$lib${LD_PRELOAD:+:$LD_PRELOAD}
      export LD_PRELOAD
      return 0
    fi
  done
  if [ "${BERTH_MALLOC:-}" = jemalloc ]; then
    echo "berth: BERTH_MALLOC=jemalloc, but jemalloc is not installed: apt-get install libjemalloc2" >&2
    exit 2
  fi
}

# The command: the first argument that is not a flag or a flag's value (of the global
# flags, only --addr takes one).
cmd=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then
    skip=
    continue
  fi
  case $a in
    --addr) skip=1 ;;
    -*) ;;
    *) cmd=$a; break ;;
  esac
done

why=
case $cmd in
  controller | agent | dev | lb) why="berth $cmd is not in the snapshot" ;;
esac
if [ "$cmd" = controller ]; then jemalloc; fi
[ -z "$why" ] && [ -n "${BERTH_NO_SNAPSHOT:-}" ] && why="BERTH_NO_SNAPSHOT is set"
[ -z "$why" ] && [ -n "${NODE_OPTIONS:-}" ] && why="NODE_OPTIONS is set"
[ -z "$why" ] && [ -n "${GRPC_TRACE-}${GRPC_NODE_TRACE-}${GRPC_VERBOSITY-}${GRPC_NODE_VERBOSITY-}${GRPC_NODE_USE_ALTERNATIVE_RESOLVER-}${GRPC_NODE_DEBUG_SEND_ERROR_DETAILS-}${GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION-}${GRPC_SSL_CIPHER_SUITES-}" ] && why="a GRPC_* variable is set"
if [ -z "$why" ]; then
  if [ -r "$blob" ] && [ -r "$blob.stamp" ]; then
    node=$(command -v node) || why="no node on PATH"
    # The node binary and the blob, as the build recorded them: inode, change time, size.
    { read -r n1 && read -r n2; } <"$blob.stamp"
    if [ -z "$why" ] && [ "$(stat -L -c '%i %Z %s' "$node" "$blob" 2>/dev/null)" != "$n1
$n2" ]; then
      why="berth.blob.stamp names another node or blob (npm run build makes a new one)"
    fi
  else
    why="no snapshot built (dist/cli/berth.blob)"
  fi
fi
[ -n "$why" ] && plain "$why" "$@"

[ -n "${BERTH_LAUNCH_TRACE:-}" ] && echo "berth launcher: snapshot" >&2
unset NODE_EXTRA_CA_CERTS
SSL_CERT_FILE=/dev/null
SSL_CERT_DIR=/dev/null
export SSL_CERT_FILE SSL_CERT_DIR
exec node --snapshot-blob "$blob" --use-openssl-ca "$main" "$@"
