# Sourced by the scripts that start the demo federation: `demo_base_port` prints a base port
# whose six node ports (base, +410, +411, +412, +420, +421) are all free on loopback.
demo_offsets=(0 410 411 412 420 421)
demo_base_port() {
  local candidate ok o
  for _ in $(seq 20); do
    candidate=$((20000 + RANDOM % 40000))
    ok=1
    for o in "${demo_offsets[@]}"; do
      ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + o))") 2>/dev/null || { ok=0; break; }
    done
    if [[ $ok == 1 ]]; then echo "$candidate"; return 0; fi
  done
  echo "no free base port found" >&2
  return 1
}
