/**
 * Opening the store a controller is given (`--store`, `--etcd-ca/--etcd-cert/--etcd-key`):
 * a TLS etcd with client-certificate auth on a test CA, the wrong CA or no client
 * certificate refused with a clear error, and `berth controller` on an etcd it cannot
 * reach saying so and exiting non-zero before it listens.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdUnavailableError } from "../../controller/store/etcd-store.js";
import { openStore, StoreConfigError } from "../../controller/store/open.js";
import type { Store } from "../../controller/store/store.js";
import { BERTH_MAIN } from "./harness/cluster.js";
import { startEtcdCluster, type EtcdCluster, type EtcdTls } from "./harness/etcd.js";

describe("etcd over TLS with client-certificate auth", () => {
  let cluster: EtcdCluster | undefined;
  const stores: Store[] = [];

  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 1, tls: true });
  });

  afterAll(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await cluster?.stop();
  });

  function files(): { url: string; tls: EtcdTls } {
    if (!cluster?.tls) throw new Error("the TLS etcd did not start");
    return { url: cluster.url, tls: cluster.tls };
  }

  it("connects with the CA and a client certificate, and stores", async () => {
    const { url, tls } = files();
    const store = await openStore(url, { etcdTls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } });
    stores.push(store);
    const r = await store.put("tls/a", "1");
    expect(await store.get("tls/a")).toEqual({ key: "tls/a", value: "1", createRevision: r, modRevision: r });
  });

  it("a wrong CA is refused at open, naming the endpoint", async () => {
    const { url, tls } = files();
    const refused = openStore(url, { etcdTls: { caFile: tls.otherCaFile, certFile: tls.certFile, keyFile: tls.keyFile }, etcd: { callTimeoutMs: 1_500 } });
    await expect(refused).rejects.toBeInstanceOf(EtcdUnavailableError);
    await expect(refused).rejects.toThrow(`etcd at ${cluster!.endpoints[0]}`);
  });

  it("a client certificate of another CA is refused at open", async () => {
    const { url, tls } = files();
    const refused = openStore(url, { etcdTls: { caFile: tls.caFile, certFile: tls.otherCertFile, keyFile: tls.otherKeyFile }, etcd: { callTimeoutMs: 1_500 } });
    await expect(refused).rejects.toBeInstanceOf(EtcdUnavailableError);
  });

  it("plain gRPC to a TLS etcd is refused at open", async () => {
    const { url } = files();
    await expect(openStore(url, { etcd: { callTimeoutMs: 1_500 } })).rejects.toBeInstanceOf(EtcdUnavailableError);
  });

  it("TLS files that are missing or half given are named", async () => {
    const { url, tls } = files();
    await expect(openStore(url, { etcdTls: { caFile: "/nonexistent/ca.crt" } })).rejects.toThrow("--etcd-ca /nonexistent/ca.crt: no such file");
    await expect(openStore(url, { etcdTls: { caFile: tls.caFile, certFile: tls.certFile } })).rejects.toBeInstanceOf(StoreConfigError);
    await expect(openStore("/tmp/some-dir", { etcdTls: { caFile: tls.caFile } })).rejects.toThrow("apply only to an etcd:// store");
  });
});

describe("berth controller --store etcd://…", () => {
  it("on an etcd it cannot reach says so, exits 3 and never listens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-etcd-open-"));
    try {
      const child = spawn(
        process.execPath,
        [BERTH_MAIN, "controller", "--data-dir", dir, "--listen", "127.0.0.1:0", "--metrics-addr", "off", "--no-write-config", "--store", "etcd://127.0.0.1:1,127.0.0.1:2"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
      const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      expect(out).toContain("etcd at 127.0.0.1:1,127.0.0.1:2 did not answer");
      expect(code).toBe(3);
      expect(out).not.toMatch(/listening/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a malformed --store with exit 2", async () => {
    const child = spawn(process.execPath, [BERTH_MAIN, "controller", "--data-dir", join(tmpdir(), "berth-never-made"), "--metrics-addr", "off", "--store", "etcd://a:b,"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(out).toContain("--store etcd://a:b,:");
    expect(code).toBe(2);
  });
});
