/**
 * Machine image and launch templates shared by the database slots and the PgBouncer tier.
 */
import { Construct } from "constructs";
import { gzipSync } from "node:zlib";
import { Fn, TerraformLocal, Token } from "cdktf";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import type { Architecture } from "../../src/cluster-spec";
import { hclSafeTemplate, isHclSynth } from "../private/hcl";
import { SplicedText } from "../private/tokens";

/** AWS account that publishes the official Debian AMIs (https://wiki.debian.org/Cloud/AmazonEC2Image). */
export const DEBIAN_AMI_OWNER = "136693071363";
/** Root device of the Debian AMIs. */
export const DEBIAN_ROOT_DEVICE = "/dev/xvda";
/** Root volume size, in GiB: the OS, the packages and the journal (data lives on the slot volume). */
export const ROOT_VOLUME_GIB = 16;
/**
 * EC2's user data limit, in bytes, before base64 encoding ("User data is limited to 16 KB,
 * in raw form, before it is base64-encoded": EC2 user guide, instance user data). Our user
 * data is gzip-compressed, so the limit applies to the compressed bytes.
 */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * Looks up the most recent official Debian 12 AMI of an architecture (owner
 * 136693071363, names `debian-12-<arm64|amd64>-<date>-<build>`). A new Debian release
 * changes the launch templates on the next apply but replaces no running instance; pin
 * `imageId` for reproducible plans.
 */
export function debianImage(scope: Construct, id: string, architecture: Architecture): DataAwsAmi {
  return new DataAwsAmi(scope, id, {
    owners: [DEBIAN_AMI_OWNER],
    mostRecent: true,
    filter: [
      { name: "name", values: [`debian-12-${architecture === "arm64" ? "arm64" : "amd64"}-*`] },
      { name: "architecture", values: [architecture] },
      { name: "virtualization-type", values: ["hvm"] },
      { name: "root-device-type", values: ["ebs"] },
    ],
  });
}

/** Props of {@link hardenedLaunchTemplate}. */
export interface HardenedLaunchTemplateProps {
  /** Launch template name. */
  readonly name: string;
  readonly description: string;
  readonly imageId: string;
  readonly instanceType: string;
  /** ARN of the instance profile. */
  readonly instanceProfileArn: string;
  /** Security groups of the primary network interface. */
  readonly securityGroupIds: string[];
  /** ARN of the KMS key for the root volume. */
  readonly kmsKeyArn: string;
  /** Cloud-init user data (plain text; stored gzip + base64), when available. */
  readonly userData?: string;
  /** Tags of the template and of the instances, volumes and interfaces it launches. */
  readonly tags: Record<string, string>;
}

/**
 * A launch template with the library's security defaults:
 * - IMDSv2 only (`http_tokens = "required"`), hop limit 1 (no metadata from containers or
 *   forwarded hops), instance metadata tags off;
 * - no public IP on the primary interface, which carries the given security groups;
 * - a gp3 root volume encrypted with the cluster key, deleted with the instance;
 * - detailed monitoring, termination and stop protection off (the ASG must be able to
 *   replace instances);
 * - user data gzip-compressed and base64-encoded (`base64gzip`; cloud-init reads gzip). The
 *   text goes through a Terraform local (`<id>-user-data`) so that quotes and backslashes
 *   are JSON-escaped rather than spliced into an HCL function call.
 * @throws Error when the compressed user data would exceed EC2's 16 KiB limit
 */
export function hardenedLaunchTemplate(scope: Construct, id: string, props: HardenedLaunchTemplateProps): LaunchTemplate {
  return new LaunchTemplate(scope, id, {
    name: props.name,
    description: props.description,
    imageId: props.imageId,
    instanceType: props.instanceType,
    iamInstanceProfile: { arn: props.instanceProfileArn },
    metadataOptions: {
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: "disabled",
    },
    networkInterfaces: [
      {
        deviceIndex: 0,
        associatePublicIpAddress: "false",
        deleteOnTermination: "true",
        securityGroups: props.securityGroupIds,
      },
    ],
    blockDeviceMappings: [
      {
        deviceName: DEBIAN_ROOT_DEVICE,
        ebs: {
          volumeType: "gp3",
          volumeSize: ROOT_VOLUME_GIB,
          encrypted: "true",
          kmsKeyId: props.kmsKeyArn,
          deleteOnTermination: "true",
        },
      },
    ],
    monitoring: { enabled: true },
    userData: props.userData === undefined ? undefined : userDataExpression(scope, `${id}-user-data`, props.name, props.userData),
    updateDefaultVersion: true,
    tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: props.tags })),
    tags: props.tags,
  });
}

/**
 * `base64gzip(local.<id>)` for user data text, after checking its compressed size. Tokens
 * (addresses, ARNs) are counted as 100 characters each, more than any of them resolves to.
 * The local holds the text as a {@link SplicedText} (same JSON, resolved in one pass); under
 * `cdktf synth --hcl` it holds {@link hclSafeTemplate} of the text (same value).
 */
function userDataExpression(scope: Construct, id: string, name: string, text: string): string {
  const estimate = text.replace(/\$\{TfToken\[[^\]]*\]\}/g, "x".repeat(100));
  const bytes = gzipSync(Buffer.from(estimate, "utf8")).length;
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(`${name}: the user data is ${bytes} bytes after gzip; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
  }
  const local = new TerraformLocal(scope, id, isHclSynth() ? hclSafeTemplate(text) : new SplicedText(text));
  return Token.asString(Fn.base64gzip(local.asString));
}
