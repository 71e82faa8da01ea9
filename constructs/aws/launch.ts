/**
 * Machine image and launch templates shared by the database slots and the PgBouncer tier.
 */
import { Construct } from "constructs";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Fn, Lazy, TerraformLocal, Token } from "cdktf";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { TAG_LAUNCH_RESOURCE, TAG_SLOT, TAG_SLOT_RESOURCE, type Architecture } from "../../src/cluster-spec";
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
 * The Debian release whose own archive ships each PostgreSQL major version the library
 * supports: Debian 12 (bookworm) has PostgreSQL 15, Debian 13 (trixie) has PostgreSQL 17
 * (packages.debian.org: postgresql-15 in bookworm, postgresql-17 in trixie). PostgreSQL 16 is
 * in neither: it needs an image with the PGDG repository (`imageId`).
 */
export const DEBIAN_RELEASE_OF_MAJOR: Readonly<Partial<Record<number, 12 | 13>>> = { 15: 12, 17: 13 };

/**
 * Looks up the most recent official Debian AMI of a release and architecture (owner
 * 136693071363, names `debian-<12|13>-<arm64|amd64>-<date>-<build>`: the Debian cloud team's
 * AMIs, https://wiki.debian.org/Cloud/AmazonEC2Image). A new image of the release changes the
 * launch templates on the next apply but replaces no running instance; pin `imageId` for
 * reproducible plans.
 */
export function debianImage(scope: Construct, id: string, architecture: Architecture, release: 12 | 13): DataAwsAmi {
  return new DataAwsAmi(scope, id, {
    owners: [DEBIAN_AMI_OWNER],
    mostRecent: true,
    filter: [
      { name: "name", values: [`debian-${release}-${architecture === "arm64" ? "arm64" : "amd64"}-*`] },
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
  /**
   * `userData` with the runs it shares with other slots' user data as local references
   * ({@link shareTextRuns}): what the user data local holds. Terraform evaluates it to
   * `userData`; the size check reads `userData`.
   * @default userData
   */
  readonly userDataTemplate?: string;
  /**
   * Tags of the template and of the instances it launches. The root volume and primary
   * interface launched with each instance get them too, except the slot-identity tags
   * (see {@link launchResourceTags}).
   */
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
    userData: props.userData === undefined ? undefined : userDataExpression(scope, `${id}-user-data`, props.name, props.userData, props.userDataTemplate),
    updateDefaultVersion: true,
    tagSpecifications: [
      { resourceType: "instance", tags: props.tags },
      { resourceType: "volume", tags: launchResourceTags(props.tags, "root-volume") },
      { resourceType: "network-interface", tags: launchResourceTags(props.tags, "primary-network-interface") },
    ],
    tags: props.tags,
  });
}

/**
 * Tags of a resource EC2 creates with each instance (tag_specifications `volume` and
 * `network-interface`: the root volume and the primary interface): the instance's tags
 * (cost allocation, `managed-postgres:cluster`) without the slot-identity tags
 * (`managed-postgres:slot`, `managed-postgres:slot-resource`), so that a filter on them
 * never matches these, plus `managed-postgres:launch-resource = <kind>` and `Name` suffixed
 * with the kind.
 */
export function launchResourceTags(tags: Readonly<Record<string, string>>, kind: "root-volume" | "primary-network-interface"): Record<string, string> {
  if (Token.isUnresolved(tags)) return tokenLaunchResourceTags(tags, kind);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) if (k !== TAG_SLOT && k !== TAG_SLOT_RESOURCE) out[k] = v;
  if (tags.Name !== undefined) out.Name = `${tags.Name}-${kind}`;
  out[TAG_LAUNCH_RESOURCE] = kind;
  return out;
}

/**
 * How much larger Terraform's `base64gzip` (Go's compress/gzip, default level) makes a text
 * than Node's zlib (level 6) does, with margin: measured on every example's user data with
 * `terraform console` (test/synth/user-data-size.system.test.ts): Go's output was 1 to 41 bytes
 * larger; EC2 sees Go's bytes.
 */
export const GO_GZIP_MARGIN_BYTES = 256;

/**
 * What {@link userDataExpression} assumes of a cdktf token in user data: 100 characters of
 * hexadecimal (SHA-512 of the token, so that equal tokens stay equal and gzip cannot squeeze
 * them), longer and less compressible than any value they resolve to (addresses, ARNs,
 * bucket names, region names, hashes).
 */
export const TOKEN_ESTIMATE_CHARS = 100;

/**
 * The compressed size EC2 would see for user data `text`, estimated: Node's gzip of the
 * text with each cdktf token replaced as {@link TOKEN_ESTIMATE_CHARS} says, plus
 * {@link GO_GZIP_MARGIN_BYTES}. An upper bound of `length(base64decode(base64gzip(text)))`
 * once Terraform resolved the tokens.
 */
export function estimatedUserDataBytes(text: string): number {
  const estimate = text.replace(/\$\{TfToken\[[^\]]*\]\}/g, (t) => createHash("sha512").update(t).digest("hex").slice(0, TOKEN_ESTIMATE_CHARS));
  return gzipSync(Buffer.from(estimate, "utf8")).length + GO_GZIP_MARGIN_BYTES;
}

/**
 * A Terraform local (`<id>`) holding `text`, for long texts that go into resource arguments
 * or Terraform functions: quotes and backslashes are JSON-escaped rather than spliced into
 * an HCL function call. The local holds the text as a {@link SplicedText} (same JSON,
 * resolved in one pass); under `cdktf synth --hcl` it holds {@link hclSafeTemplate} of the
 * text (same value).
 */
export function textLocal(scope: Construct, id: string, text: string): TerraformLocal {
  return new TerraformLocal(scope, id, isHclSynth() ? hclSafeTemplate(text) : new SplicedText(text));
}

/**
 * Shortest run of lines, in characters, that {@link shareTextRuns} moves into a shared
 * local: shorter runs stay in each text (a reference costs ~60 characters of JSON and one
 * more local to resolve).
 */
export const SHARED_RUN_MIN_CHARS = 512;

/**
 * The texts of one cluster's slots (same renderer, so the same lines but for each node's
 * name, address and peers), with every run of lines that all of them hold at the same line
 * number, of at least {@link SHARED_RUN_MIN_CHARS} characters, written once: as a
 * {@link textLocal} `<id>-<n>` of `scope`, which each text references at that place
 * (`${local.<id>-<n>}`). Terraform evaluates each returned text, as a template, to the
 * input text, byte for byte: the literal parts are whole lines (a reference never follows a
 * `$` or `%`, so it cannot become an escape), and the runs are whole lines too, so no
 * `$${`/`%%{` escape or reference is cut.
 *
 * Why: a distributed cluster's three bootstrap scripts and three user data texts repeated
 * ~90 % of their 50 KB each in the synthesized JSON; cdktf resolves, scans and writes every
 * copy (issue 13, synth speed).
 *
 * The texts are returned unchanged (no local) when there are fewer than two, when their
 * line counts differ, when one holds a `${` that is not a cdktf token (cdktf's escape
 * handling may span lines), and under `cdktf synth --hcl` (the HCL output keeps one
 * self-contained template per text).
 * @param texts rendered texts, cdktf tokens verbatim
 * @returns one text per input, in order
 */
export function shareTextRuns(scope: Construct, id: string, texts: readonly string[]): string[] {
  if (texts.length < 2 || isHclSynth() || texts.some((t) => /\$\{(?!TfToken\[)/.test(t))) return [...texts];
  const lines = texts.map(linesOf);
  const count = lines[0].length;
  if (lines.some((l) => l.length !== count)) return [...texts];
  const out: string[][] = texts.map(() => []);
  let run: string[] = [];
  let shared = 0;
  const endRun = () => {
    const text = run.join("");
    run = [];
    if (text === "") return;
    const piece = text.length >= SHARED_RUN_MIN_CHARS ? textLocal(scope, `${id}-${shared++}`, text).asString : text;
    for (const o of out) o.push(piece);
  };
  for (let i = 0; i < count; i++) {
    const line = lines[0][i];
    let same = true;
    for (let j = 1; j < lines.length && same; j++) same = lines[j][i] === line;
    if (same) {
      run.push(line);
    } else {
      endRun();
      for (let j = 0; j < lines.length; j++) out[j].push(lines[j][i]);
    }
  }
  endRun();
  return out.map((pieces) => pieces.join(""));
}

/** The lines of `text`, each with its `\n` (the last one without, when the text does not end with one). */
function linesOf(text: string): string[] {
  const parts = text.split("\n");
  const last = parts.pop()!;
  const lines = parts.map((l) => l + "\n");
  if (last !== "") lines.push(last);
  return lines;
}

/**
 * `base64gzip(local.<id>)` for user data text, after checking its compressed size with
 * {@link estimatedUserDataBytes} (calibrated on Terraform's gzip).
 * @param template what the local holds: `text`, or `text` with runs shared with other
 *   slots as local references ({@link shareTextRuns}), which Terraform evaluates to `text`
 * @throws Error when the estimate exceeds EC2's limit, naming the template and both numbers
 */
function userDataExpression(scope: Construct, id: string, name: string, text: string, template: string = text): string {
  const bytes = estimatedUserDataBytes(text);
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `${name}: the user data would be up to ${bytes} bytes after Terraform's base64gzip (Node's gzip plus ${GO_GZIP_MARGIN_BYTES} bytes ` +
        `for Go's, each reference counted as ${TOKEN_ESTIMATE_CHARS} characters); EC2 accepts at most ${USER_DATA_LIMIT_BYTES}. ` +
        `Move files out of the user data (docs/bootstrap.md, "User data and the bootstrap object").`,
    );
  }
  return Token.asString(Fn.base64gzip(textLocal(scope, id, template).asString));
}

/**
 * {@link launchResourceTags} of a map token (a `map(string)` variable merged by
 * `clusterTags`): the same filtering and additions as a Terraform expression.
 */
function tokenLaunchResourceTags(tags: Readonly<Record<string, string>>, kind: string): Record<string, string> {
  return Token.asStringMap(
    Lazy.anyValue({
      produce: (context) => {
        const resolved = String(context.resolve(tags));
        const map = resolved.startsWith("${") && resolved.endsWith("}") ? resolved.slice(2, -1) : JSON.stringify(resolved);
        const kept = `{ for k, v in ${map} : k => v if k != ${JSON.stringify(TAG_SLOT)} && k != ${JSON.stringify(TAG_SLOT_RESOURCE)} }`;
        return `\${merge(${kept}, contains(keys(${map}), "Name") ? { Name = "\${${map}["Name"]}-${kind}" } : {}, { ${JSON.stringify(TAG_LAUNCH_RESOURCE)} = ${JSON.stringify(kind)} })}`;
      },
    }),
  );
}
