/**
 * A database node's bootstrap script as an S3 object of the cluster's backup bucket: the
 * script alone is about half of a node's compressed user data, which EC2 limits to 16 KB
 * (docs/bootstrap.md, "User data and the bootstrap object").
 */
import { Construct } from "constructs";
import { Fn, type TerraformResource } from "cdktf";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import type { BootstrapObject } from "../../src/render/bootstrap";
import { textLocal } from "./launch";

/** Key prefix of the cluster's configuration objects: `config/<cluster>/` (no lifecycle expiry, no pgBackRest path). */
export function configPrefix(clusterName: string): string {
  return `config/${clusterName}/`;
}

/** Props of {@link bootstrapObject}. */
export interface BootstrapObjectProps {
  readonly clusterName: string;
  readonly nodeName: string;
  /** Backup bucket name (token). */
  readonly bucket: string;
  /** The cluster key: the object is SSE-KMS with it (the bucket policy refuses any other). */
  readonly kmsKeyArn: string;
  /**
   * The rendered bootstrap script (`renderBootstrapScript`), tokens verbatim, or that script
   * with the runs it shares with the other slots' as local references (`shareTextRuns`),
   * which Terraform evaluates to the script.
   */
  readonly text: string;
  /** Resources the object must wait for (the bucket's versioning and default encryption). */
  readonly dependsOn: TerraformResource[];
  /**
   * Last part of the key, `config/<cluster>/<node>/<objectName>`.
   * @default "managed-postgres-bootstrap"
   */
  readonly objectName?: string;
}

/**
 * An `aws_s3_object` at `config/<cluster>/<node>/managed-postgres-bootstrap` holding the
 * script (through a local `<id>-text`), SSE-KMS with the cluster key, and what the user data's
 * loader needs: bucket, key, the object's `version_id` (a launch template version keeps
 * getting the script it was made with, whatever a later apply writes) and `sha256(text)`.
 */
export function bootstrapObject(scope: Construct, id: string, props: BootstrapObjectProps): BootstrapObject {
  const text = textLocal(scope, `${id}-text`, props.text);
  const object = new S3Object(scope, id, {
    bucket: props.bucket,
    key: `${configPrefix(props.clusterName)}${props.nodeName}/${props.objectName ?? "managed-postgres-bootstrap"}`,
    content: text.asString,
    contentType: "text/x-shellscript",
    serverSideEncryption: "aws:kms",
    kmsKeyId: props.kmsKeyArn,
    dependsOn: props.dependsOn,
  });
  return { bucket: props.bucket, key: object.key, versionId: object.versionId, sha256: Fn.sha256(text.asString) };
}
