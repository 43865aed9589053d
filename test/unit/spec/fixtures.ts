/** DESIGN.md "The service spec", verbatim: the shape every part agrees on. */
export const DESIGN_EXAMPLE = `name: web                          # [a-z0-9-], unique in the fleet
artifact: ./build/web              # a file or folder: tarred, stored on the controller by sha256
# artifact: { url: https://example.org/web-1.4.2.tgz, sha256: "…" }
install:
  apt: [nginx-light]               # Debian packages, installed by apt before the steps
  steps:
    - { run: ./setup.sh, timeout: 2m }   # shell, run in the unpacked artifact's folder
run:
  command: ./bin/web               # or an absolute path, or a program on PATH
  args: [--port, "8080"]
  env: { LOG_LEVEL: info }
  user: www-data                   # optional; default: the agent's user
  stopSignal: SIGTERM
  stopTimeout: 20s
resources: { cpu: 1, memoryMb: 512, diskMb: 1024 }
instances: 3
constraints: { dc: [dc1, dc2], disk: ssd }  # label = value, or label in a list
spread: dc                         # a label key: spread instances over its values
health:
  http: { port: 8080, path: /healthz, status: 200 }   # or tcp: { port: 8080 } or exec: { command: [...] }
  interval: 2s
  timeout: 1s
  healthyThreshold: 1
  unhealthyThreshold: 3
update:
  maxUnavailable: 1
  maxSurge: 0
  minHealthyTime: 5s               # healthy this long before an instance counts as done
  healthyDeadline: 1m
  progressDeadline: 10m
  canary: 0
  autoRevert: true
  drainTime: 5s                    # out of the endpoints this long before it is stopped
failover:
  enabled: true
  stopAfterDisconnect: 0s          # > 0: self-fencing (see "Epochs and fencing")
`;
