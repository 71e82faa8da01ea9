import { postgresParametersForSize } from "../../src/cluster-spec";
import { PATHS, PATRONI_DCS_ONLY_PARAMETERS, renderPgHba, renderPostgresParameters, walLimitsForVolume } from "../../src/render";
import { members, spec, TOKEN_ADDRESSES } from "./fixtures";

describe("renderPostgresParameters", () => {
  test("memory and connections follow the size (seed 000 / seed 004 rules)", () => {
    for (const size of ["XS", "L", "4XL"] as const) {
      const p = renderPostgresParameters(spec({ size }));
      const s = postgresParametersForSize(size);
      expect(p.max_connections).toBe(String(s.maxConnections));
      expect(p.shared_buffers).toBe(`${s.sharedBuffersMiB}MB`);
      expect(p.effective_cache_size).toBe(`${s.effectiveCacheSizeMiB}MB`);
      expect(p.work_mem).toBe(`${s.workMemMiB}MB`);
      expect(p.maintenance_work_mem).toBe(`${s.maintenanceWorkMemMiB}MB`);
    }
  });

  test("TLS is on with the node certificate and at least TLS 1.3", () => {
    const p = renderPostgresParameters(spec());
    expect(p.ssl).toBe("on");
    expect([p.ssl_cert_file, p.ssl_key_file, p.ssl_ca_file]).toEqual([PATHS.serverCert, PATHS.serverKey, PATHS.caCert]);
    expect(p.ssl_min_protocol_version).toBe("TLSv1.3");
  });

  test("passwords are stored as SCRAM-SHA-256", () => {
    expect(renderPostgresParameters(spec()).password_encryption).toBe("scram-sha-256");
  });

  test("WAL is archived continuously to the cluster's pgBackRest stanza", () => {
    const p = renderPostgresParameters(spec({ name: "billing" }));
    expect(p.wal_level).toBe("replica");
    expect(p.archive_mode).toBe("on");
    expect(p.archive_command).toBe("pgbackrest --stanza=billing archive-push %p");
  });

  test("issue 15: the blue cluster of an upgrade (upgradeTo) runs wal_level logical, nothing else changes; without upgradeTo replica", () => {
    const upgradeTo = { nodeAddresses: ["10.20.0.21", "10.20.0.22", "10.20.0.23"] };
    for (const deployment of ["standalone", "distributed"] as const) {
      const plain = renderPostgresParameters(spec({ deployment }));
      const blue = renderPostgresParameters(spec({ deployment, upgradeTo }));
      expect(plain.wal_level).toBe("replica");
      expect(blue.wal_level).toBe("logical");
      expect({ ...blue, wal_level: "replica" }).toEqual(plain);
    }
  });

  test("issue 15: blue's slots and WAL senders fit green's preflight rule (other members + databases + 2 table-sync) for 6 databases distributed, 8 standalone, and stay at 10 (removing upgradeTo lowers nothing)", () => {
    const upgradeTo = { nodeAddresses: ["10.20.0.21"] };
    // scripts/node-upgrade.sh preflight: free slots (senders) = limit - the members' own >= databases + 2
    for (const [deployment, members, databases] of [["distributed", 3, 6], ["standalone", 1, 8]] as const) {
      const blue = renderPostgresParameters(spec({ deployment, upgradeTo }));
      const plain = renderPostgresParameters(spec({ deployment }));
      for (const key of ["max_replication_slots", "max_wal_senders"] as const) {
        const free = Number(blue[key]) - (members - 1);
        expect(free).toBeGreaterThanOrEqual(databases + 2);
        expect(free).toBeLessThan(databases + 1 + 2); // the docstring's number is the largest that fits
        expect(blue[key]).toBe(plain[key]);
      }
    }
  });

  test("issue 15: a green cluster (upgradeFrom) runs 7 logical replication workers (6 databases of blue and one table-sync worker, within max_worker_processes 8 next to the launcher); no other cluster sets it", () => {
    const upgradeFrom = { clusterName: "legacy", majorVersion: 15 as const, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:legacy-AbCdEf", nodeAddresses: ["10.0.1.10"], securityGroupId: "sg-0abc12345" };
    const green = renderPostgresParameters(spec({ majorVersion: 17, upgradeFrom }));
    expect(green.max_logical_replication_workers).toBe("7");
    expect(Number(green.max_logical_replication_workers) + 1).toBeLessThanOrEqual(8); // the launcher, PostgreSQL's default max_worker_processes
    expect(green.max_worker_processes).toBeUndefined();
    expect(Number(green.max_logical_replication_workers)).toBeGreaterThanOrEqual(6 + 1); // the databases blue's slots allow (distributed), plus one copy
    expect(renderPostgresParameters(spec({ majorVersion: 17 })).max_logical_replication_workers).toBeUndefined();
    expect(renderPostgresParameters(spec({ upgradeTo: { nodeAddresses: ["10.0.1.20"] } })).max_logical_replication_workers).toBeUndefined();
    expect(PATRONI_DCS_ONLY_PARAMETERS).not.toContain("max_logical_replication_workers");
  });

  test("replicas serve reads and pg_rewind can rejoin a former primary", () => {
    const p = renderPostgresParameters(spec());
    expect(p.hot_standby).toBe("on");
    expect(p.wal_log_hints).toBe("on");
  });

  test("statements slower than 1000 ms are logged (seed 004)", () => {
    expect(renderPostgresParameters(spec()).log_min_duration_statement).toBe("1000");
  });

  test("no parameter depends on storageGiB: growing the storage changes no node file (issue 12)", () => {
    const small = renderPostgresParameters(spec({ storageGiB: 50 }));
    expect(renderPostgresParameters(spec({ storageGiB: 80 }))).toEqual(small);
    expect(small).not.toHaveProperty("max_wal_size");
    expect(small).not.toHaveProperty("max_slot_wal_keep_size");
  });

  test("walLimits \"rendered\" (the Kubernetes target) puts walLimitsForVolume(storageGiB) in the parameters", () => {
    const p = renderPostgresParameters(spec({ storageGiB: 100 }), { logging: "stderr", walLimits: "rendered" });
    expect(p.max_slot_wal_keep_size).toBe("25600MB");
    expect(p.max_wal_size).toBe("8192MB");
    expect(renderPostgresParameters(spec({ storageGiB: 2 }), { logging: "stderr", walLimits: "rendered" })).toMatchObject(walLimitsForVolume(2048));
  });

  test("a standby retries a failed WAL source after 1 s (the replica's first stream from a new primary fails until Patroni creates its slot)", () => {
    expect(renderPostgresParameters(spec({})).wal_retrieve_retry_interval).toBe("1s");
  });
});

describe("walLimitsForVolume", () => {
  test("replication slots may retain at most a quarter of the data volume; max_wal_size an eighth, 256 to 8192 MB", () => {
    expect(walLimitsForVolume(100 * 1024)).toEqual({ max_wal_size: "8192MB", max_slot_wal_keep_size: "25600MB" });
    expect(walLimitsForVolume(50 * 1024)).toEqual({ max_wal_size: "6400MB", max_slot_wal_keep_size: "12800MB" });
    expect(walLimitsForVolume(80 * 1024)).toEqual({ max_wal_size: "8192MB", max_slot_wal_keep_size: "20480MB" });
    expect(walLimitsForVolume(2 * 1024)).toEqual({ max_wal_size: "256MB", max_slot_wal_keep_size: "512MB" });
    expect(walLimitsForVolume(3 * 1024)).toEqual({ max_wal_size: "384MB", max_slot_wal_keep_size: "768MB" });
  });

  test.each([0, -1, 1.5, Number.NaN])("refuses %p MiB", (v) => {
    expect(() => walLimitsForVolume(v)).toThrow(/positive integer/);
  });
});

describe("renderPgHba", () => {
  const hba = renderPgHba(spec(), members("orders", 3));

  test("TCP rules are hostssl only, except reject rules", () => {
    const tcp = hba.filter((l) => !l.startsWith("local "));
    for (const rule of tcp) {
      expect(rule.startsWith("hostssl ") || / reject$/.test(rule)).toBe(true);
    }
    expect(tcp.filter((l) => l.startsWith("host ")).every((l) => l.endsWith(" reject"))).toBe(true);
  });

  test("every password rule uses scram-sha-256", () => {
    const methods = hba.map((l) => l.split(/\s+/).pop());
    expect(new Set(methods)).toEqual(new Set(["peer", "scram-sha-256", "reject"]));
  });

  test("replication and pg_rewind are allowed from the members only (and replication from loopback for Patroni)", () => {
    for (const a of ["10.10.0.11", "10.10.0.12", "10.10.0.13"]) {
      expect(hba).toContain(`hostssl replication replicator ${a}/32 scram-sha-256`);
      expect(hba).toContain(`hostssl postgres rewind_user ${a}/32 scram-sha-256`);
    }
    const replicationAllows = hba.filter((l) => l.includes(" replication ") && l.endsWith("scram-sha-256"));
    expect(replicationAllows).toHaveLength(5);
    expect(replicationAllows.filter((l) => !/ 10\.10\.0\.1[123]\/32 /.test(l))).toEqual([
      "hostssl replication replicator 127.0.0.1/32 scram-sha-256",
      "hostssl replication replicator ::1/128 scram-sha-256",
    ]);
  });

  test("the superuser logs in locally by peer authentication only", () => {
    expect(hba[0]).toBe("local all postgres peer");
    expect(hba).toContain("hostssl all postgres 0.0.0.0/0 reject");
    expect(hba).toContain("hostssl all postgres ::/0 reject");
  });

  test("non-TLS connections are rejected for IPv4 and IPv6", () => {
    expect(hba).toContain("host all all 0.0.0.0/0 reject");
    expect(hba).toContain("host all all ::/0 reject");
  });

  test("member-specific rules come before the catch-all rules (first match wins)", () => {
    const lastMember = Math.max(...hba.map((l, i) => (l.includes("/32 ") || l.includes("/128 ") ? i : -1)));
    const firstCatchAll = hba.findIndex((l) => l.includes("0.0.0.0/0"));
    expect(lastMember).toBeLessThan(firstCatchAll);
  });

  test("token addresses are used verbatim", () => {
    const t = renderPgHba(spec(), members("orders", 3, TOKEN_ADDRESSES));
    expect(t).toContain("hostssl replication replicator ${TfToken[TOKEN.12]}/32 scram-sha-256");
  });
});
