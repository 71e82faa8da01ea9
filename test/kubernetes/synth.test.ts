/** Synthesized Kubernetes target: inventory, placement, pods, services, RBAC, network, IRSA. */
import { byName, distributed, props, standalone, synth, type Synthesized } from "./fixtures";

const DB_LABELS = {
  "app.kubernetes.io/name": "managed-postgres",
  "app.kubernetes.io/instance": "orders",
  "app.kubernetes.io/managed-by": "cdktf-managed-postgres",
  "app.kubernetes.io/component": "database",
};
const POOLER_LABELS = { ...DB_LABELS, "app.kubernetes.io/component": "pooler" };

function sts(s: Synthesized): any {
  return byName(s, "kubernetes_stateful_set_v1", "orders");
}
function podSpec(s: Synthesized): any {
  return sts(s).spec.template.spec;
}
function container(s: Synthesized, name: string): any {
  const c = podSpec(s).container.find((x: any) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}
function envValue(c: any, name: string): any {
  return c.env.find((e: any) => e.name === name);
}
function count(s: Synthesized, type: string): number {
  return Object.keys(s.resource[type] ?? {}).length;
}

describe("inventory", () => {
  test("distributed: 3 PVCs, 5 services, 2 PDBs, 2 network policies, 2 service accounts, 1 role and binding", () => {
    const s = distributed();
    expect([
      count(s, "kubernetes_persistent_volume_claim_v1"),
      count(s, "kubernetes_service_v1"),
      count(s, "kubernetes_pod_disruption_budget_v1"),
      count(s, "kubernetes_network_policy_v1"),
      count(s, "kubernetes_service_account_v1"),
      count(s, "kubernetes_role_v1"),
      count(s, "kubernetes_role_binding_v1"),
      count(s, "kubernetes_stateful_set_v1"),
      count(s, "kubernetes_deployment_v1"),
    ]).toEqual([3, 5, 2, 2, 2, 1, 1, 1, 1]);
  });

  test("standalone: 1 PVC, no replicas or read-only service, no database PDB", () => {
    const s = standalone();
    expect(count(s, "kubernetes_persistent_volume_claim_v1")).toBe(1);
    const services = Object.values(s.resource.kubernetes_service_v1).map((r: any) => r.metadata.name).sort();
    expect(services).toEqual(["orders-members", "orders-primary", "orders-rw"]);
    const pdbs = Object.values(s.resource.kubernetes_pod_disruption_budget_v1).map((r: any) => r.metadata.name);
    expect(pdbs).toEqual(["orders-pooler"]);
  });

  test("no kubernetes_manifest resource (plan must not need the cluster's CRDs)", () => {
    expect(distributed().resource.kubernetes_manifest).toBeUndefined();
  });

  test("every Kubernetes object is in the given namespace", () => {
    const s = distributed();
    const namespaces = Object.entries(s.resource)
      .filter(([t]) => t.startsWith("kubernetes_"))
      .flatMap(([, rs]) => Object.values(rs).map((r: any) => r.metadata.namespace));
    expect(new Set(namespaces)).toEqual(new Set(["orders-db"]));
  });
});

describe("StatefulSet placement", () => {
  test("distributed runs 3 members, standalone 1", () => {
    expect([sts(distributed()).spec.replicas, sts(standalone()).spec.replicas]).toEqual(["3", "1"]);
  });

  test("distributed spreads members over zones: maxSkew 1, DoNotSchedule, on topology.kubernetes.io/zone", () => {
    expect(podSpec(distributed()).topology_spread_constraint).toEqual([
      { max_skew: 1, topology_key: "topology.kubernetes.io/zone", when_unsatisfiable: "DoNotSchedule", label_selector: [{ match_labels: DB_LABELS }] },
    ]);
  });

  test("the zone label is configurable", () => {
    const s = synth(props({}, { zoneLabel: "example.com/zone" }));
    expect(podSpec(s).topology_spread_constraint[0].topology_key).toBe("example.com/zone");
  });

  test("distributed never puts two members on one node (required anti-affinity on kubernetes.io/hostname)", () => {
    expect(podSpec(distributed()).affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution).toEqual([
      { topology_key: "kubernetes.io/hostname", label_selector: [{ match_labels: DB_LABELS }] },
    ]);
  });

  test("standalone has no spread constraint and no anti-affinity", () => {
    const p = podSpec(standalone());
    expect([p.topology_spread_constraint, p.affinity]).toEqual([undefined, undefined]);
  });

  test("pod labels carry Patroni's scope label, and the selector leaves out the role label Patroni changes", () => {
    const s = sts(distributed());
    expect(s.spec.template.metadata.labels).toEqual({ ...DB_LABELS, "cluster-name": "orders" });
    expect(s.spec.selector.match_labels).toEqual(DB_LABELS);
  });
});

describe("database container", () => {
  test("requests equal limits from the size (M: 2 vCPU, 8192 MiB)", () => {
    expect(container(distributed(), "postgres").resources).toEqual({
      requests: { cpu: "2", memory: "8192Mi" },
      limits: { cpu: "2", memory: "8192Mi" },
    });
  });

  test("resources follow another size (4XL: 8 vCPU, 65536 MiB)", () => {
    const s = synth(props({ size: "4XL" }));
    expect(container(s, "postgres").resources.limits).toEqual({ cpu: "8", memory: "65536Mi" });
  });

  test("liveness and readiness probes call Patroni's REST API over HTTPS on 8008", () => {
    const c = container(distributed(), "postgres");
    expect([c.liveness_probe.http_get, c.readiness_probe.http_get]).toEqual([
      { path: "/liveness", port: "8008", scheme: "HTTPS" },
      { path: "/readiness", port: "8008", scheme: "HTTPS" },
    ]);
  });

  test("member name and addresses come from the downward API", () => {
    const c = container(distributed(), "postgres");
    expect([envValue(c, "POD_IP").value_from.field_ref.field_path, envValue(c, "PATRONI_NAME").value, envValue(c, "PATRONI_POSTGRESQL_CONNECT_ADDRESS").value]).toEqual([
      "status.podIP",
      "$(POD_NAME)",
      "$(POD_IP):5432",
    ]);
  });

  test("passwords come from the credentials Secret by reference, never as values", () => {
    const c = container(distributed(), "postgres");
    const secretRefs = c.env.filter((e: any) => /PASSWORD|CIPHER/.test(e.name));
    expect(secretRefs.map((e: any) => [e.name, e.value, e.value_from.secret_key_ref.name])).toEqual([
      ["PATRONI_SUPERUSER_PASSWORD", undefined, "orders-credentials"],
      ["PATRONI_REPLICATION_PASSWORD", undefined, "orders-credentials"],
      ["PATRONI_REWIND_PASSWORD", undefined, "orders-credentials"],
      ["PATRONI_RESTAPI_PASSWORD", undefined, "orders-credentials"],
      ["PGBOUNCER_AUTH_PASSWORD", undefined, "orders-credentials"],
      ["PGBACKREST_REPO1_CIPHER_PASS", undefined, "orders-credentials"],
    ]);
  });

  test("no kubernetes_secret resource is synthesized (Terraform never holds the passwords)", () => {
    const s = distributed();
    expect([s.resource.kubernetes_secret_v1, s.resource.kubernetes_secret]).toEqual([undefined, undefined]);
  });
});

describe("rolling maintenance (issue 12: replicas first, the primary after a switchover, in the window)", () => {
  test("the StatefulSet's update strategy is OnDelete: Kubernetes replaces no pod on its own", () => {
    expect(sts(distributed()).spec.update_strategy).toEqual([{ type: "OnDelete" }]);
    expect(sts(standalone()).spec.update_strategy).toEqual([{ type: "OnDelete" }]);
  });

  test("every database pod runs the maintenance agent from the ConfigMap with the window, the lock and its REST API password by reference", () => {
    const c = container(distributed(), "maintenance");
    expect(c.command).toEqual(["python3", "/etc/patroni/maintenance.py"]);
    const env = Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({
      STATEFULSET: "orders",
      MEMBER_COUNT: "3",
      LOCK_CONFIGMAP: "orders-maintenance",
      MW_DAY: "7",
      MW_START_MINUTE: "120",
      MW_DURATION: "60",
      APPLY_IMMEDIATELY: "no",
      LAG_LIMIT_BYTES: "1048576",
      LOCK_TTL: "900",
      PATRONI_URL: "https://$(POD_NAME).orders-members.orders-db.svc.cluster.local:8008",
    });
    expect(envValue(c, "PATRONI_RESTAPI_PASSWORD").value_from.secret_key_ref.name).toBe("orders-credentials");
    expect(c.volume_mount.map((m: any) => m.name).sort()).toEqual(["data", "patroni-config", "tls", "tmp"]);
    const data = byName(distributed(), "kubernetes_config_map_v1", "orders-database").data;
    expect(data["maintenance.py"]).toMatch(/^#!\/usr\/bin\/env python3\n/);
    expect(container(standalone(), "maintenance").env.find((e: any) => e.name === "MEMBER_COUNT").value).toBe("1");
  });

  test("window and applyImmediately reach the agent", () => {
    const c = container(synth(props({ maintenanceWindow: { day: "wed", startTime: "23:30", durationMinutes: 90 }, applyImmediately: true })), "maintenance");
    const env = Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect([env.MW_DAY, env.MW_START_MINUTE, env.MW_DURATION, env.APPLY_IMMEDIATELY]).toEqual(["3", "1410", "90", "yes"]);
  });

  test("the lock ConfigMap is created empty and its data and annotations are left to the agent and the operator", () => {
    const lock = byName(distributed(), "kubernetes_config_map_v1", "orders-maintenance");
    expect(lock.data).toEqual({ holder: "", renewed: "0", action: "" });
    expect(lock.lifecycle.ignore_changes).toEqual(["data", "metadata[0].annotations"]);
  });
});

describe("pod security", () => {
  test("database pod: non-root UID/GID 999, fsGroup 999, seccomp RuntimeDefault", () => {
    expect(podSpec(distributed()).security_context).toEqual({
      run_as_non_root: true,
      run_as_user: "999",
      run_as_group: "999",
      fs_group: "999",
      fs_group_change_policy: "OnRootMismatch",
      seccomp_profile: { type: "RuntimeDefault" },
    });
  });

  test("every database container: no escalation, not privileged, read-only root, capabilities drop ALL", () => {
    for (const c of podSpec(distributed()).container) {
      expect([c.name, c.security_context.allow_privilege_escalation, c.security_context.privileged, c.security_context.read_only_root_filesystem, c.security_context.capabilities.drop]).toEqual([
        c.name,
        false,
        false,
        true,
        ["ALL"],
      ]);
    }
  });

  test("writable paths are volumes: data on the PVC, /tmp, the socket directory and the home as emptyDir", () => {
    const mounts = Object.fromEntries(container(distributed(), "postgres").volume_mount.map((m: any) => [m.mount_path, m.name]));
    const volumes = Object.fromEntries(podSpec(distributed()).volume.map((v: any) => [v.name, v]));
    expect(mounts["/data"]).toBe("data");
    for (const path of ["/tmp", "/var/run/postgresql", "/var/lib/postgresql"]) expect(volumes[mounts[path]].empty_dir).toBeDefined();
  });

  test("the database pods mount the service account token (Patroni's DCS); the pooler pods do not", () => {
    const s = distributed();
    const pooler = byName(s, "kubernetes_deployment_v1", "orders-pooler").spec.template.spec;
    expect([podSpec(s).automount_service_account_token, pooler.automount_service_account_token]).toEqual([true, false]);
  });

  test("the TLS key is mounted read-only with mode 0440 from the cert-manager-style Secret", () => {
    const tls = podSpec(distributed()).volume.find((v: any) => v.name === "tls");
    expect([tls.secret.secret_name, tls.secret.default_mode, tls.secret.items.map((i: any) => i.key)]).toEqual(["orders-tls", "0440", ["tls.crt", "tls.key", "ca.crt"]]);
  });
});

describe("storage", () => {
  test("each member's PVC has storageGiB Gi on the storage class, and is kept on destroy", () => {
    const pvc = byName(distributed(), "kubernetes_persistent_volume_claim_v1", "data-orders-2");
    expect([pvc.spec.resources.requests.storage, pvc.spec.storage_class_name, pvc.spec.access_modes, pvc.lifecycle.prevent_destroy]).toEqual([
      "20Gi",
      "gp3-expandable",
      ["ReadWriteOnce"],
      true,
    ]);
  });

  test("the PVCs have the names the StatefulSet claims (data-<cluster>-<ordinal>)", () => {
    const s = sts(distributed());
    expect(s.spec.volume_claim_template[0].metadata.name).toBe("data");
    expect(Object.values(distributed().resource.kubernetes_persistent_volume_claim_v1).map((r: any) => r.metadata.name).sort()).toEqual([
      "data-orders-0",
      "data-orders-1",
      "data-orders-2",
    ]);
  });

  test("the StatefulSet ignores its immutable claim template, so growing storage updates the PVCs in place", () => {
    expect(sts(distributed()).lifecycle.ignore_changes).toEqual(["spec[0].volume_claim_template"]);
  });

  test("PVCs do not wait to bind (WaitForFirstConsumer binds when the pod is scheduled)", () => {
    expect(byName(distributed(), "kubernetes_persistent_volume_claim_v1", "data-orders-0").wait_until_bound).toBe(false);
  });
});

describe("RBAC", () => {
  test("the pods' Role is exactly ConfigMap-mode DCS access plus the maintenance agent's named objects: no endpoints, services, secrets, delete or unnamed create beyond Patroni's ConfigMaps", () => {
    const role = byName(distributed(), "kubernetes_role_v1", "orders-patroni");
    expect(role.rule).toEqual([
      { api_groups: [""], resources: ["configmaps"], verbs: ["create", "list", "watch"] },
      { api_groups: [""], resources: ["configmaps"], resource_names: ["orders-config", "orders-leader", "orders-failover", "orders-sync"], verbs: ["get", "patch"] },
      { api_groups: [""], resources: ["pods"], verbs: ["list", "watch"] },
      { api_groups: [""], resources: ["pods"], resource_names: ["orders-0", "orders-1", "orders-2"], verbs: ["patch"] },
      // the maintenance agent: its StatefulSet's revision, the members' revision labels, the lock, eviction (honours the PDB)
      { api_groups: ["apps"], resources: ["statefulsets"], resource_names: ["orders"], verbs: ["get"] },
      { api_groups: [""], resources: ["pods"], resource_names: ["orders-0", "orders-1", "orders-2"], verbs: ["get"] },
      { api_groups: [""], resources: ["configmaps"], resource_names: ["orders-maintenance"], verbs: ["get", "update"] },
      { api_groups: [""], resources: ["pods/eviction"], resource_names: ["orders-0", "orders-1", "orders-2"], verbs: ["create"] },
    ]);
  });

  test("standalone: the pod patch rule names the single member", () => {
    const role = byName(standalone(), "kubernetes_role_v1", "orders-patroni");
    expect(role.rule[3].resource_names).toEqual(["orders-0"]);
  });

  test("the RoleBinding binds the Role to the database service account only", () => {
    const rb = byName(distributed(), "kubernetes_role_binding_v1", "orders-patroni");
    const sa = Object.entries(distributed().resource.kubernetes_service_account_v1).find(([, r]: [string, any]) => r.metadata.name === "orders")![0];
    expect(rb.subject).toEqual([{ kind: "ServiceAccount", name: `\${kubernetes_service_account_v1.${sa}.metadata[0].name}`, namespace: "orders-db" }]);
  });
});

describe("services", () => {
  test("the primary Service selects Patroni's role=master label (Patroni 3.0.2)", () => {
    expect(byName(distributed(), "kubernetes_service_v1", "orders-primary").spec.selector).toEqual({ ...DB_LABELS, "cluster-name": "orders", role: "master" });
  });

  test("the replicas Service selects role=replica", () => {
    expect(byName(distributed(), "kubernetes_service_v1", "orders-replicas").spec.selector.role).toBe("replica");
  });

  test("the members Service is headless and publishes not-ready members", () => {
    const svc = byName(distributed(), "kubernetes_service_v1", "orders-members");
    expect([svc.spec.cluster_ip, svc.spec.publish_not_ready_addresses]).toEqual(["None", true]);
  });

  test("the pooler's rw Service maps 5432 to PgBouncer 6432 and ro maps 5433 to 6433", () => {
    const s = distributed();
    const rw = byName(s, "kubernetes_service_v1", "orders-rw").spec;
    const ro = byName(s, "kubernetes_service_v1", "orders-ro").spec;
    expect([rw.selector, rw.port[0].port, rw.port[0].target_port, ro.port[0].port, ro.port[0].target_port]).toEqual([POOLER_LABELS, 5432, "6432", 5433, "6433"]);
  });
});

describe("pooler", () => {
  test("at least two PgBouncer replicas spread over zones (DoNotSchedule)", () => {
    const d = byName(distributed(), "kubernetes_deployment_v1", "orders-pooler");
    expect([d.spec.replicas, d.spec.template.spec.topology_spread_constraint[0]]).toEqual([
      "2",
      { max_skew: 1, topology_key: "topology.kubernetes.io/zone", when_unsatisfiable: "DoNotSchedule", label_selector: [{ match_labels: POOLER_LABELS }] },
    ]);
  });

  test("distributed runs a rw and a ro PgBouncer; standalone only rw", () => {
    const names = (s: Synthesized) => byName(s, "kubernetes_deployment_v1", "orders-pooler").spec.template.spec.container.map((c: any) => c.name);
    expect([names(distributed()), names(standalone())]).toEqual([["pgbouncer-rw", "pgbouncer-ro"], ["pgbouncer-rw"]]);
  });

  test("the pooler reads its userlist from its own Secret, not the database credentials", () => {
    const v = byName(distributed(), "kubernetes_deployment_v1", "orders-pooler").spec.template.spec.volume.find((x: any) => x.name === "pgbouncer-config");
    expect(v.projected[0].sources[1].secret[0].name).toBe("orders-pooler-credentials");
  });

  test("the pooler ConfigMap points PgBouncer at the database Services", () => {
    const data = byName(distributed(), "kubernetes_config_map_v1", "orders-pooler").data;
    expect([data["pgbouncer-rw.ini"], data["pgbouncer-ro.ini"]].map((t: string) => /^\* = host=(\S+)/m.exec(t)?.[1])).toEqual([
      "orders-primary.orders-db.svc.cluster.local",
      "orders-replicas.orders-db.svc.cluster.local",
    ]);
  });

  test("the pooler PDB allows one pod down at a time", () => {
    expect(byName(distributed(), "kubernetes_pod_disruption_budget_v1", "orders-pooler").spec.max_unavailable).toBe("1");
  });

  test("the database PDB (distributed) allows one member down at a time", () => {
    expect(byName(distributed(), "kubernetes_pod_disruption_budget_v1", "orders").spec.max_unavailable).toBe("1");
  });
});

describe("network policies", () => {
  test("the database admits its own members on 5432, 8008, 8432 and the pooler on 5432 only", () => {
    const np = byName(distributed(), "kubernetes_network_policy_v1", "orders-database").spec;
    expect([np.policy_types, np.pod_selector.match_labels, np.ingress]).toEqual([
      ["Ingress"],
      DB_LABELS,
      [
        { from: [{ pod_selector: { match_labels: DB_LABELS } }], ports: ["5432", "8008", "8432"].map((port) => ({ port, protocol: "TCP" })) },
        { from: [{ pod_selector: { match_labels: POOLER_LABELS } }], ports: [{ port: "5432", protocol: "TCP" }] },
      ],
    ]);
  });

  test("the pooler admits only namespaces with the allowed labels, on the PgBouncer ports", () => {
    const np = byName(distributed(), "kubernetes_network_policy_v1", "orders-pooler").spec;
    expect(np.ingress).toEqual([
      {
        from: [{ namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "orders-app" } } }],
        ports: [{ port: "6432", protocol: "TCP" }, { port: "6433", protocol: "TCP" }],
      },
    ]);
  });
});

describe("backups through IRSA", () => {
  function role(s: Synthesized): any {
    return Object.values(s.resource.aws_iam_role)[0];
  }

  function doc(s: Synthesized, id: string): any {
    const d = JSON.parse(s.raw).data?.aws_iam_policy_document;
    const found = Object.entries(d ?? {}).find(([k]) => k.includes(id));
    if (!found) throw new Error(`no policy document ${id}`);
    return found[1];
  }

  test("the role's trust policy is its trust document", () => {
    const s = distributed();
    const trustName = Object.keys(JSON.parse(s.raw).data.aws_iam_policy_document).find((k) => k.includes("backup-role-trust"));
    expect(role(s).assume_role_policy).toBe(`\${data.aws_iam_policy_document.${trustName}.json}`);
  });

  test("the role trusts the OIDC provider for exactly this service account and audience sts.amazonaws.com", () => {
    expect(doc(distributed(), "backup-role-trust").statement).toEqual([
      {
        sid: "ServiceAccountOfTheDatabasePods",
        effect: "Allow",
        principals: [{ type: "Federated", identifiers: ["arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123"] }],
        actions: ["sts:AssumeRoleWithWebIdentity"],
        condition: [
          { test: "StringEquals", variable: "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub", values: ["system:serviceaccount:orders-db:orders"] },
          { test: "StringEquals", variable: "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:aud", values: ["sts.amazonaws.com"] },
        ],
      },
    ]);
  });

  test("the role's name carries the cluster and the namespace (IAM names are account-wide)", () => {
    expect(role(distributed()).name).toBe("orders-orders-db-backup");
  });

  test("a role name over 64 characters is shortened with a stable hash", () => {
    const ns = "n".repeat(60);
    const names = [0, 1].map(() => role(synth(props({}, { namespace: ns }))).name as string);
    expect([names[0]!.length <= 64, names[0]!.startsWith(`orders-${ns.slice(0, 40)}`), names[0] === names[1]]).toEqual([true, true, true]);
  });

  test("the database service account is annotated with the role ARN", () => {
    const sa = byName(distributed(), "kubernetes_service_account_v1", "orders");
    expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(/^\$\{aws_iam_role\.[^.]+\.arn\}$/);
  });

  test("the role's policy is limited to the cluster's prefix in the bucket and to the key", () => {
    const st = doc(distributed(), "backup-role-permissions").statement;
    expect(st.map((x: any) => [x.sid, x.actions, x.resources, x.condition])).toEqual([
      ["ListRepository", ["s3:ListBucket"], [expect.stringMatching(/^\$\{aws_s3_bucket\.[^.]+\.arn\}$/)], [{ test: "StringLike", variable: "s3:prefix", values: ["orders/*", "orders"] }]],
      ["ReadWriteRepository", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [expect.stringMatching(/^\$\{aws_s3_bucket\.[^.]+\.arn\}\/orders\/\*$/)], undefined],
      ["UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [expect.stringMatching(/^\$\{aws_kms_key\.[^.]+\.arn\}$/)], undefined],
    ]);
  });

  test("the backup bucket is the AWS target's encrypted bucket (SSE-KMS with the key, versioning, public access blocked)", () => {
    const s = distributed();
    const enc: any = Object.values(s.resource.aws_s3_bucket_server_side_encryption_configuration)[0];
    const pab: any = Object.values(s.resource.aws_s3_bucket_public_access_block)[0];
    expect([enc.rule[0].apply_server_side_encryption_by_default.sse_algorithm, pab.block_public_acls, pab.restrict_public_buckets]).toEqual(["aws:kms", true, true]);
  });

  test("an existing KMS key ARN is used instead of creating one", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    const s = synth(props({}, { backupStorage: { ...props().backupStorage!, kmsKeyArn: arn } }));
    expect([s.resource.aws_kms_key, s.raw.includes(arn)]).toEqual([undefined, true]);
  });

  test("pgBackRest uses web-identity credentials in every member's file", () => {
    const data = byName(distributed(), "kubernetes_config_map_v1", "orders-database").data;
    const files = Object.keys(data).filter((k) => k.startsWith("pgbackrest-"));
    expect(files.map((k) => /^repo1-s3-key-type=(.*)$/m.exec(data[k])?.[1])).toEqual(["web-id", "web-id", "web-id"]);
  });
});

describe("secrets stay out of the synthesized output", () => {
  test("no private key or password literal appears in the Terraform JSON", () => {
    const raw = distributed().raw;
    expect(raw).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(raw).not.toMatch(/"password"\s*:\s*"[^"]+"/i);
  });
});
