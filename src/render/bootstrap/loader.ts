/**
 * The bootstrap loader of a database node: the node's bootstrap script is shipped as an S3
 * object of the cluster's backup bucket (see docs/bootstrap.md, "User data and the bootstrap
 * object"), and the user data carries this small script, which installs it after checking
 * its SHA-256.
 */
import { PATHS } from "../paths";
import { scriptBody, shellHeader } from "../scripts";
import { assertTerraformSafe } from "../terraform-safe";
import type { RuntimeContext } from "../types";

/** Where the loader is written (root 0755) and run from by cloud-init's `runcmd`. */
export const BOOTSTRAP_LOADER_PATH = "/usr/local/sbin/managed-postgres-fetch-bootstrap";

/**
 * The S3 object holding a node's bootstrap script. Every field may be a cdktf token
 * (resolved by Terraform before the user data reaches EC2).
 */
export interface BootstrapObject {
  /** Bucket name (the cluster's backup bucket). */
  readonly bucket: string;
  /** Object key, e.g. `config/<cluster>/<node>/managed-postgres-bootstrap` (not under a pgBackRest or dump prefix). */
  readonly key: string;
  /** The object version to get (the bucket is versioned): the one this launch template version was made with. */
  readonly versionId: string;
  /** Lower-case hex SHA-256 of the object's bytes (64 characters). */
  readonly sha256: string;
}

/**
 * The loader script (bash, `set -euo pipefail`): `aws s3api get-object --bucket <bucket>
 * --key <key> --version-id <version>` (region and S3 endpoint of `runtime`; 30 attempts
 * 10 s apart while the instance role's policy propagates), `sha256sum` must equal
 * `object.sha256`, then the script is installed at `PATHS.bootstrapScript` (root 0755,
 * atomically). Installs `awscli` with apt when `aws` is missing. Exit 1 and the target left
 * untouched on any failure. Pure.
 * @throws Error if the text would contain a Terraform template sequence (a bug)
 */
export function renderBootstrapLoader(object: BootstrapObject, runtime: RuntimeContext, target: string = PATHS.bootstrapScript): string {
  const text = [
    "#!/bin/bash",
    "# managed-postgres-fetch-bootstrap: installs this node's bootstrap script from S3 (SHA-256 checked).",
    "# Rendered by cdktf-managed-postgres; see docs/bootstrap.md.",
    "set -euo pipefail",
    "umask 022",
    shellHeader({
      BUCKET: object.bucket,
      KEY: object.key,
      VERSION_ID: object.versionId,
      SHA256: object.sha256,
      REGION: runtime.region,
      S3_ENDPOINT_URL: runtime.s3Endpoint ? `https://${runtime.s3Endpoint}` : "",
      S3_VERIFY_TLS: runtime.s3VerifyTls === false ? "no" : "yes",
      TARGET: target,
    }) + scriptBody("fetch-bootstrap.sh"),
  ].join("\n");
  return assertTerraformSafe(text, BOOTSTRAP_LOADER_PATH);
}
