/**
 * etcd 3.4 configuration file (`etcd --config-file`), the Patroni DCS on the database nodes.
 *
 * Keys: etcd 3.4 `etcd.conf.yml.sample` / embed.Config. Every member runs etcd on its slot
 * address; the data directory lives on the slot's data volume, so a replaced instance
 * comes back as the same member (`initial-cluster-state` is only read on an empty data
 * directory).
 *
 * TLS: clients and peers must present a certificate signed by the cluster CA
 * (`client-cert-auth`). etcd 3.4 has no minimum-TLS-version setting (`tls-min-version`
 * arrived in 3.5), so TLS 1.2 remains possible; `cipher-suites` restricts TLS 1.2 to
 * ECDHE + AEAD suites (Go negotiates TLS 1.3 whenever the client offers it).
 */
import { stringify } from "yaml";
import { PORTS } from "../cluster-spec";
import { PATHS } from "./paths";
import type { NodeContext } from "./types";

/** TLS 1.2 cipher suites etcd accepts (Go names); TLS 1.3 suites are not configurable in Go. */
export const ETCD_CIPHER_SUITES: readonly string[] = [
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

/** The `initial-cluster-token` of a cluster: keeps two clusters' members from joining each other. */
export function etcdClusterToken(clusterName: string): string {
  return `managed-postgres-${clusterName}`;
}

/**
 * Renders etcd.conf.yml (YAML text) for `ctx.self`: name = member name, data-dir
 * `PATHS.etcdDataDir`, client (:2379) and peer (:2380) URLs on the member address over
 * https, `initial-cluster` of all members, state `new`, token {@link etcdClusterToken},
 * client and peer transport security with the PATHS certificate, key and CA,
 * `client-cert-auth` true, `auto-tls` false, v2 API off, gRPC gateway on (Patroni's etcd3
 * client needs it; a config file leaves it off in 3.4), pre-vote on (a member back from a
 * partition does not disrupt the leader), periodic compaction every hour,
 * 2 GiB backend quota (etcd's default; Patroni keeps a few keys per member).
 *
 * Addresses are used verbatim (they may be Terraform tokens). Pure.
 */
export function renderEtcdConfig(ctx: NodeContext): string {
  const { spec, self, members } = ctx;
  const tls = {
    "cert-file": PATHS.serverCert,
    "key-file": PATHS.serverKey,
    "trusted-ca-file": PATHS.caCert,
    "client-cert-auth": true,
    "auto-tls": false,
  };
  const config = {
    name: self.name,
    "data-dir": PATHS.etcdDataDir,
    "listen-peer-urls": `https://${self.address}:${PORTS.etcdPeer}`,
    "listen-client-urls": `https://${self.address}:${PORTS.etcdClient}`,
    "initial-advertise-peer-urls": `https://${self.address}:${PORTS.etcdPeer}`,
    "advertise-client-urls": `https://${self.address}:${PORTS.etcdClient}`,
    "initial-cluster": members.map((m) => `${m.name}=https://${m.address}:${PORTS.etcdPeer}`).join(","),
    "initial-cluster-state": "new",
    "initial-cluster-token": etcdClusterToken(spec.name),
    "client-transport-security": { ...tls },
    "peer-transport-security": { ...tls },
    "cipher-suites": [...ETCD_CIPHER_SUITES],
    "enable-v2": false,
    // Patroni's etcd3 client speaks the JSON gRPC gateway (/v3/...). etcd 3.4 enables the
    // gateway by default for command-line flags but NOT when started with --config-file
    // (verified here: 404 on /v3/cluster/member/list until this is set).
    "enable-grpc-gateway": true,
    "pre-vote": true,
    "auto-compaction-mode": "periodic",
    "auto-compaction-retention": "1",
    "quota-backend-bytes": 2147483648,
    "heartbeat-interval": 100,
    "election-timeout": 1000,
    logger: "zap",
    "log-level": "info",
    "log-outputs": ["stderr"],
  };
  return (
    `# etcd ${"3.4"} configuration of ${self.name} (cluster ${spec.name}). Rendered by cdktf-managed-postgres.\n` +
    `# etcd 3.4 cannot enforce a minimum TLS version; cipher-suites limits TLS 1.2 to ECDHE+AEAD.\n` +
    stringify(config, { schema: "yaml-1.1", lineWidth: 0, minContentWidth: 0 })
  );
}
