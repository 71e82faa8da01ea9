/**
 * ConfigMap text reaches the pods unchanged: Terraform reads `${…}` and `%{…}` in every string as
 * template sequences, so the construct escapes them (a shell script's `${VAR:-}`), except the cdktf
 * references. Checked with the real `terraform console` (Terraform evaluates the escaped strings back
 * to the rendered files).
 */
import { terraformLiteral } from "../../constructs/kubernetes";
import { byName, distributed } from "./fixtures";

test("cdktf token markers are not escaped (they become references)", () => {
  expect(terraformLiteral("bucket=${TfToken[TOKEN.12]} x=${HOME} y=%{if}")).toBe("bucket=${TfToken[TOKEN.12]} x=$${HOME} y=%%{if}");
});

test("the synthesized ConfigMap carries the escaped script and the bucket reference", () => {
  const data = byName(distributed(), "kubernetes_config_map_v1", "orders-database").data;
  expect([data["post-bootstrap.sh"].includes('"$${PGBOUNCER_AUTH_PASSWORD:-}"'), /^repo1-s3-bucket=\$\{aws_s3_bucket\.[^}]+\.bucket\}$/m.test(data["pgbackrest-orders-0.conf"])]).toEqual([true, true]);
});
