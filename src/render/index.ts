export * from "./types";
export * from "./paths";
export * from "./postgres";
export * from "./sql";
export * from "./patroni";
export * from "./etcd";
export * from "./pgbouncer";
export * from "./haproxy";
export * from "./pgbackrest";
export * from "./node-files";
export * from "./systemd";
export * from "./bootstrap";
export * from "./cloud-init";
export * from "./restore";
export * from "./scripts";
export * from "./monitoring";
// Alarms, thresholds and the dashboard moved to src/monitoring (issue 14); still exported here.
export * from "../monitoring";
