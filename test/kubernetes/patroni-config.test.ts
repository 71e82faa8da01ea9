/**
 * The Patroni configuration the database pods run: the synthesized ConfigMap's patroni.yml
 * with the synthesized container environment (downward-API values filled in as the kubelet
 * would, Secret references replaced by test values). The real `patroni --validate-config` checks
 * it in patroni-config.system.test.ts.
 */
import { parse } from "yaml";
import { distributed, kubernetesPatroniYaml, kubernetesPodEnvironment, synth, props, type Synthesized } from "./fixtures";

const POD_IP = "10.10.0.12";
const patroniYaml = kubernetesPatroniYaml;
const podEnvironment = (s: Synthesized) => kubernetesPodEnvironment(s, POD_IP);

test("the pod environment gives the member its pod name and the pod IP as connect addresses", () => {
  const env = podEnvironment(distributed());
  expect([env.PATRONI_NAME, env.PATRONI_POSTGRESQL_CONNECT_ADDRESS, env.PATRONI_RESTAPI_CONNECT_ADDRESS]).toEqual([
    "orders-1",
    `${POD_IP}:5432`,
    `${POD_IP}:8008`,
  ]);
});

describe("content", () => {
  const config = () => parse(patroniYaml(distributed()));

  test("the DCS is the Kubernetes API in ConfigMap mode, in the cluster's namespace, with the pods' labels", () => {
    expect(config().kubernetes).toEqual({
      namespace: "orders-db",
      labels: {
        "app.kubernetes.io/name": "managed-postgres",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/managed-by": "cdktf-managed-postgres",
        "app.kubernetes.io/component": "database",
      },
      scope_label: "cluster-name",
      role_label: "role",
      use_endpoints: false,
    });
  });

  test("there is no etcd section", () => {
    expect([config().etcd3, config().etcd]).toEqual([undefined, undefined]);
  });

  test("the per-pod keys are not in the shared file", () => {
    const c = config();
    expect([c.name, c.restapi.listen, c.restapi.connect_address, c.postgresql.listen, c.postgresql.connect_address]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("pg_hba admits replication and pg_rewind from the pod network, and has no per-address member rule", () => {
    const hba: string[] = config().postgresql.pg_hba;
    expect(hba.filter((r) => / (replicator|rewind_user) 10\.0\.0\.0\/16 /.test(r))).toEqual([
      "hostssl replication replicator 10.0.0.0/16 scram-sha-256",
      "hostssl postgres rewind_user 10.0.0.0/16 scram-sha-256",
    ]);
    expect(hba.filter((r) => r.includes(".svc.cluster.local"))).toEqual([]);
  });

  test("bootstrap.pg_hba (required by Patroni 3.0.2's validator) holds the same pod-network rules", () => {
    const c = config();
    expect(c.bootstrap.pg_hba).toEqual(c.postgresql.pg_hba);
  });

  test("the renderer's loopback replication rule (Patroni's own timeline check) is kept", () => {
    expect(config().postgresql.pg_hba).toContain("hostssl replication replicator 127.0.0.1/32 scram-sha-256");
  });

  test("one rule per pod CIDR when there are several", () => {
    const s = synth(props({}, { podNetworkCidrs: ["10.0.0.0/16", "100.64.0.0/10"] }));
    const hba: string[] = parse(patroniYaml(s)).postgresql.pg_hba;
    expect(hba.filter((r) => r.startsWith("hostssl replication replicator") && !r.includes("127.0.0.1") && !r.includes("::1"))).toEqual([
      "hostssl replication replicator 10.0.0.0/16 scram-sha-256",
      "hostssl replication replicator 100.64.0.0/10 scram-sha-256",
    ]);
  });

  test("the rules still end with the reject-everything-else rules, in the renderer's order", () => {
    const hba: string[] = config().postgresql.pg_hba;
    expect(hba.slice(-3)).toEqual(["host all all 0.0.0.0/0 reject", "host all all ::/0 reject", "local all all scram-sha-256"]);
  });

  test("PostgreSQL logs to stderr (logging_collector off) for kubectl logs", () => {
    expect(config().postgresql.parameters.logging_collector).toBe("off");
  });

  test("distributed keeps synchronous_mode_strict from the renderer", () => {
    expect(config().bootstrap.dcs.synchronous_mode_strict).toBe(true);
  });
});
