/**
 * The twin's world as plain data: what `terraform apply` created (or what a test declares).
 * The twin mutates it as API calls change it (attachments, secret versions, objects).
 * Ids and ARNs are AWS-shaped; account `111122223333` is AWS's documentation example.
 */

/** An IAM role with its identity policies (inline and attached, as JSON texts). */
export interface TwinRole {
  readonly arn: string; // arn:aws:iam::<account>:role/<name>
  /** Unique role id (`AROA` + 17 characters), the first half of `aws:userid`. @default - derived from the name */
  readonly roleId?: string;
  /** Identity policy JSON texts (inline role policies and attached managed policies). */
  policies: string[];
  readonly tags?: Record<string, string>;
}

/** An instance profile: what an instance's IMDS credentials are for. */
export interface TwinInstanceProfile {
  readonly arn: string; // arn:aws:iam::<account>:instance-profile/<name>
  readonly roleArn: string;
}

/** EC2 instance states (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html). */
export type InstanceState = "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";

export interface TwinInstance {
  readonly id: string; // i- + 17 hex
  /** Address of the primary ENI: requests from it are this instance's (IMDS, aws:SourceIp). */
  readonly privateIp: string;
  readonly mac: string; // lower-case, e.g. 0e:12:...
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly instanceProfileArn?: string;
  tags: Record<string, string>;
  readonly autoScalingGroupName?: string;
  state: InstanceState;
  /** User data as EC2 holds it (base64). */
  readonly userData?: string;
  readonly imageId?: string;
  readonly instanceType?: string;
  readonly launchTime?: string;
}

/** An attachment of an ENI or a volume. */
export interface TwinAttachment {
  readonly instanceId: string;
  readonly attachmentId: string;
  /** ENI: the device index ("0" for a primary interface); volume: the device name ("/dev/sdf"). */
  readonly device: string;
  status: "attaching" | "attached" | "detaching";
  readonly attachTime: string;
  readonly deleteOnTermination: boolean;
}

export interface TwinNetworkInterface {
  readonly id: string; // eni-
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
  readonly mac: string;
  tags: Record<string, string>;
  readonly description?: string;
  attachment?: TwinAttachment;
}

export interface TwinVolume {
  readonly id: string; // vol-
  readonly availabilityZone: string;
  /** Grows in place when a re-apply raises the volume's `size` (ModifyVolume: reapplyWorld). */
  sizeGiB: number;
  readonly volumeType?: string;
  readonly encrypted: boolean;
  readonly kmsKeyArn?: string;
  tags: Record<string, string>;
  attachment?: TwinAttachment;
}

export interface TwinSecret {
  readonly arn: string; // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>
  readonly name: string;
  /** Customer-managed key; absent: the AWS managed key `aws/secretsmanager` (no key policy to check). */
  readonly kmsKeyArn?: string;
  /** The secret's resource policy JSON text, if any. */
  resourcePolicy?: string;
  readonly tags?: Record<string, string>;
  /** A value that exists before anything runs (AWSCURRENT). @default - none (Terraform creates the secret empty) */
  readonly secretString?: string;
}

export interface TwinKmsKey {
  readonly arn: string; // arn:aws:kms:<region>:<account>:key/<uuid>
  /** Key policy JSON text. */
  policy: string;
  /** Alias names (`alias/...`). */
  readonly aliases?: readonly string[];
  readonly tags?: Record<string, string>;
}

export interface TwinObject {
  readonly key: string;
  readonly body: string | Buffer;
  /** Version id as S3 reported it to Terraform (`aws_s3_object.version_id`). @default - generated */
  readonly versionId?: string;
  /** SSE-KMS key. @default - the bucket's default encryption key */
  readonly kmsKeyArn?: string;
  readonly contentType?: string;
}

export interface TwinBucket {
  readonly name: string;
  /** Bucket policy JSON text. */
  policy?: string;
  /** Default encryption: SSE-KMS with this key (`aws_s3_bucket_server_side_encryption_configuration`). */
  readonly defaultKmsKeyArn?: string;
  readonly bucketKeyEnabled?: boolean;
  readonly versioning: boolean;
  readonly objects?: readonly TwinObject[];
  readonly tags?: Record<string, string>;
}

export interface TwinAutoScalingGroup {
  readonly name: string;
  /** @default - arn:aws:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name> */
  readonly arn?: string;
  readonly tags?: Record<string, string>;
  /**
   * The group's launch template as `aws_autoscaling_group.launch_template` holds it after
   * apply: `version` is the string Terraform sent (a number such as "3" when the stack sets it
   * to the template's `latest_version`, or `$Latest` / `$Default` literally); a re-apply
   * changes it (UpdateAutoScalingGroup). @default - none (DescribeAutoScalingGroups omits it)
   */
  launchTemplate?: { readonly id: string; readonly name: string; readonly version: string };
  /** @default 0 */
  readonly minSize?: number;
  /** @default - desiredCapacity */
  readonly maxSize?: number;
  /** Lowered by TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity. @default - minSize */
  desiredCapacity?: number;
  /** Subnet ids (`vpc_zone_identifier`). @default [] */
  readonly subnetIds?: readonly string[];
  /** Availability zones of those subnets. @default [] */
  readonly availabilityZones?: readonly string[];
}

/** An SSM Parameter Store parameter as Terraform created it (`aws_ssm_parameter`). */
export interface TwinParameter {
  /** As given, e.g. `/managed-postgres/<cluster>/ca-certificate` (ARN: the name without its leading slash). */
  readonly name: string;
  /** `String` or `StringList` (SecureString is not implemented by the twin). */
  readonly type: string;
  readonly value: string;
  /** The value's version (`aws_ssm_parameter.version`). @default 1 */
  readonly version?: number;
  readonly tags?: Record<string, string>;
}

/** Everything the twin serves. */
export interface TwinWorld {
  readonly region: string;
  readonly accountId: string;
  readonly partition?: "aws";
  readonly roles: TwinRole[];
  readonly instanceProfiles: TwinInstanceProfile[];
  readonly instances: TwinInstance[];
  readonly networkInterfaces: TwinNetworkInterface[];
  readonly volumes: TwinVolume[];
  readonly secrets: TwinSecret[];
  readonly kmsKeys: TwinKmsKey[];
  readonly buckets: TwinBucket[];
  readonly autoScalingGroups: TwinAutoScalingGroup[];
  /** SSM parameters: the values Terraform wrote; PutParameter adds versions in the twin, not here. */
  readonly parameters: TwinParameter[];
}

export function ec2Arn(w: TwinWorld, type: string, id: string): string {
  return `arn:aws:ec2:${w.region}:${w.accountId}:${type}/${id}`;
}

export function asgArn(w: TwinWorld, g: TwinAutoScalingGroup): string {
  return g.arn ?? `arn:aws:autoscaling:${w.region}:${w.accountId}:autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/${g.name}`;
}

export function roleName(roleArn: string): string {
  return roleArn.split("/").pop()!;
}

/** A key id, key ARN, alias name or alias ARN → the key; undefined when unknown. */
export function findKey(w: TwinWorld, id: string | undefined): TwinKmsKey | undefined {
  if (!id) return undefined;
  return w.kmsKeys.find(
    (k) => k.arn === id || k.arn.endsWith(`:key/${id}`) || (k.aliases ?? []).some((a) => a === id || id.endsWith(`:${a}`)),
  );
}
