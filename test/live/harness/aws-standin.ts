/**
 * A small local stand-in for the AWS APIs the node bootstrap calls, served over plain HTTP
 * inside the harness subnet:
 *
 * - IMDSv2: `PUT /latest/api/token` (header `X-aws-ec2-metadata-token-ttl-seconds`
 *   1..21600), then `GET /latest/...` with `X-aws-ec2-metadata-token` (401 without a valid
 *   token): instance-id, placement/availability-zone, placement/region, local-ipv4, mac,
 *   hostname, dynamic/instance-identity/document, iam/security-credentials/<role>,
 *   tags/instance/<key>. The caller is identified by its source address (one namespace =
 *   one instance).
 * - EC2 (query protocol, XML, API version 2016-11-15): DescribeNetworkInterfaces,
 *   AttachNetworkInterface, DetachNetworkInterface, DescribeVolumes, AttachVolume,
 *   DetachVolume, DescribeInstances, DescribeTags. Attaching is bookkeeping only: the ENI is
 *   the namespace's address and the EBS volume is a per-slot directory the harness
 *   bind-mounts at /data. As on EC2, every instance also has a root volume and a primary
 *   interface created at launch, attached to it, tagged as the launch template's
 *   `tag_specifications` tag them (`launchResourceTags`: the cluster's tags without the
 *   slot-identity tags), listed by DescribeVolumes / DescribeNetworkInterfaces and deleted
 *   when the instance is replaced; the slot's ENI and volume carry
 *   `managed-postgres:slot-resource`. AttachVolume of a volume another instance holds fails
 *   with VolumeInUse; DescribeInstances reports a replaced instance as `terminated`.
 * - Auto Scaling (query protocol, API version 2011-01-01): SetInstanceHealth (recorded in
 *   {@link AwsStandin.healthReports}).
 * - Secrets Manager (JSON 1.1, `X-Amz-Target: secretsmanager.*`): GetSecretValue,
 *   PutSecretValue, DescribeSecret, CreateSecret, with AWS's documented version semantics:
 *   a version's id is its ClientRequestToken (32..64 characters); putting the same token
 *   with the same value again is an idempotent success; the same token with a different
 *   value fails with ResourceExistsException; a new token creates a new version that
 *   becomes AWSCURRENT (the former one AWSPREVIOUS). A secret created without a value
 *   (as Terraform's aws_secretsmanager_secret does) answers GetSecretValue with
 *   ResourceNotFoundException.
 *
 * - SSM (JSON 1.1, `X-Amz-Target: AmazonSSM.*`): GetParameter, PutParameter (String
 *   parameters; `Overwrite` required once the parameter exists), kept in
 *   {@link AwsStandin.parameterState}: where the nodes publish the CA certificate.
 *
 * Requests are not signature-checked. Unknown actions answer 400 and are logged, so a
 * missing API shows up in the test output instead of passing silently.
 */
import { randomBytes, randomUUID } from "crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "http";
import { launchResourceTags } from "../../../constructs/aws/launch";
import { AwsError as ApiError } from "../../twin/aws/errors";
import { putSecretVersion, secretValueResponse, type SecretVersion } from "../../twin/aws/secrets";

/** An instance slot of the stand-in's world: one namespace address. */
export interface StandinHost {
  /** Source address of the host's requests (its namespace address). */
  readonly address: string;
  /** Availability zone name. */
  readonly zone: string;
  /** Slot index of a database node; absent for the pooler. */
  readonly slotIndex?: number;
  /** Tags of the instance (IMDS tags/instance). */
  readonly tags: Record<string, string>;
}

/** A resource (ENI or volume) of a slot, or one created with an instance at launch. */
interface SlotResource {
  id: string;
  slotIndex: number;
  /** Created with an instance (root volume, primary interface), deleted with it. */
  launchedWith?: string;
  /** MAC address of an ENI. @default 02:00:00:00:00:0<slotIndex> */
  mac?: string;
  zone: string;
  address: string;
  tags: Record<string, string>;
  attachedTo?: string;
  attachmentId?: string;
  device?: string;
  attachTime?: string;
}

interface Secret {
  arn: string;
  name: string;
  kmsKeyId?: string;
  created: number;
  versions: SecretVersion[];
}

/** Configuration of the stand-in. */
export interface StandinConfig {
  readonly region: string;
  readonly accountId: string;
  readonly clusterName: string;
  readonly hosts: readonly StandinHost[];
  /** Secrets that exist before any node boots: created empty, like Terraform does. */
  readonly secrets: readonly { readonly arn: string; readonly name: string; readonly kmsKeyId?: string }[];
  /** Size of the slot volumes in GiB. */
  readonly volumeGiB: number;
  /** Role name whose credentials IMDS hands out. */
  readonly roleName: string;
}

/** One logged API call. */
export interface StandinCall {
  readonly at: string;
  readonly from: string;
  readonly api: "imds" | "ec2" | "autoscaling" | "secretsmanager" | "ssm" | "harness" | "unknown";
  readonly action: string;
  readonly status: number;
  /** The secret or parameter a Secrets Manager or SSM call named (`SecretId`, `Name`). */
  readonly target?: string;
}

const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const AUTOSCALING_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function tagSet(tags: Record<string, string>): string {
  return (
    "<tagSet>" +
    Object.entries(tags)
      .map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`)
      .join("") +
    "</tagSet>"
  );
}

/** The stand-in's state and HTTP handler. */
export class AwsStandin {
  readonly calls: StandinCall[] = [];
  private readonly tokens = new Map<string, number>();
  private readonly instanceOf = new Map<string, string>();
  private readonly enis: SlotResource[] = [];
  private readonly volumes: SlotResource[] = [];
  private readonly secrets: Secret[] = [];
  private readonly parameters = new Map<string, { value: string; version: number }>();
  private readonly credentials = {
    AccessKeyId: "ASIAHARNESS" + randomBytes(5).toString("hex").toUpperCase(),
    SecretAccessKey: randomBytes(20).toString("base64"),
    Token: randomBytes(32).toString("base64"),
  };
  private bootCounter = 0;
  /** Instances replaced by a later boot at the same address (DescribeInstances: terminated). */
  private readonly terminated = new Set<string>();
  /** SetInstanceHealth calls: instance id and health status. */
  readonly healthReports: { instanceId: string; status: string }[] = [];
  private server?: Server;

  constructor(private readonly config: StandinConfig) {
    for (const h of config.hosts) {
      this.boot(h.address);
      if (h.slotIndex === undefined) continue;
      const tags = {
        Name: `${config.clusterName}-${h.slotIndex}`,
        "managed-postgres:cluster": config.clusterName,
        "managed-postgres:slot": String(h.slotIndex),
      };
      const hex = (n: number) => n.toString(16).padStart(2, "0");
      this.enis.push({
        id: `eni-0harness0000000${hex(h.slotIndex)}`,
        slotIndex: h.slotIndex,
        zone: h.zone,
        address: h.address,
        tags: { ...tags, "managed-postgres:slot-resource": "network-interface" },
      });
      this.volumes.push({
        id: `vol-0harness0000000${hex(h.slotIndex)}`,
        slotIndex: h.slotIndex,
        zone: h.zone,
        address: h.address,
        tags: { ...tags, "managed-postgres:slot-resource": "data-volume" },
      });
    }
    for (const s of config.secrets) this.secrets.push({ ...s, created: Date.now() / 1000, versions: [] });
  }

  /**
   * A (new) instance boots at `address`: it gets a fresh instance id; the resources
   * attached to the previous instance there are detached (that instance is gone).
   */
  boot(address: string): string {
    const old = this.instanceOf.get(address);
    if (old) {
      this.terminated.add(old);
      for (const r of [...this.enis, ...this.volumes]) {
        if (r.attachedTo === old) {
          r.attachedTo = undefined;
          r.attachmentId = undefined;
          r.device = undefined;
        }
      }
      // delete_on_termination: the old instance's root volume and primary interface go with it
      for (const list of [this.enis, this.volumes]) {
        for (let i = list.length - 1; i >= 0; i--) if (list[i]!.launchedWith === old) list.splice(i, 1);
      }
    }
    this.bootCounter++;
    const id = `i-0harness${String(this.bootCounter).padStart(8, "0")}`;
    this.instanceOf.set(address, id);
    this.launchResources(address, id);
    return id;
  }

  /** The root volume and primary interface EC2 creates with instance `id` (tag_specifications). */
  private launchResources(address: string, id: string): void {
    const host = this.config.hosts.find((h) => h.address === address);
    if (!host) return;
    const name = host.slotIndex === undefined ? `${this.config.clusterName}-pooler` : `${this.config.clusterName}-${host.slotIndex}`;
    const instanceTags: Record<string, string> = { "managed-postgres:cluster": this.config.clusterName, Name: name };
    if (host.slotIndex !== undefined) instanceTags["managed-postgres:slot"] = String(host.slotIndex);
    const serial = id.slice(-8);
    const octets = address.split(".").map(Number);
    // the primary interface's own address: another one of the subnet, never the slot's
    const primaryAddress = [...octets.slice(0, 3), (octets[3]! + 100) % 250].join(".");
    const attached = { attachedTo: id, attachTime: new Date().toISOString() };
    this.enis.push({
      id: `eni-0launch${serial}`,
      slotIndex: host.slotIndex ?? 9,
      zone: host.zone,
      address: primaryAddress,
      mac: `02:01:00:${serial.slice(-6, -4)}:${serial.slice(-4, -2)}:${serial.slice(-2)}`,
      tags: launchResourceTags(instanceTags, "primary-network-interface"),
      launchedWith: id,
      attachmentId: `eni-attach-${serial}`,
      device: "0",
      ...attached,
    });
    this.volumes.push({
      id: `vol-0launch${serial}`,
      slotIndex: host.slotIndex ?? 9,
      zone: host.zone,
      address: primaryAddress,
      tags: launchResourceTags(instanceTags, "root-volume"),
      launchedWith: id,
      attachmentId: `vol-attach-${serial}`,
      device: "/dev/xvda",
      ...attached,
    });
  }

  /** Secret versions (for assertions). */
  secretState(): unknown {
    return this.secrets.map((s) => ({
      arn: s.arn,
      versions: s.versions.map((v) => ({ versionId: v.versionId, stages: v.stages, length: (v.secretString ?? "").length })),
    }));
  }

  /** SSM parameters: name → value and version. */
  parameterState(): Record<string, { value: string; version: number }> {
    return Object.fromEntries(this.parameters);
  }

  listen(port: number, address: string): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    return new Promise((resolve) => this.server!.listen(port, address, () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private log(from: string, api: StandinCall["api"], action: string, status: number, target?: string): void {
    this.calls.push({ at: new Date().toISOString(), from, api, action, status, ...(target === undefined ? {} : { target }) });
    if (this.calls.length > 5000) this.calls.splice(0, 1000);
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const from = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const url = new URL(req.url ?? "/", "http://standin");
    try {
      if (url.pathname.startsWith("/_harness/")) return this.handleHarness(from, url, res);
      if (url.pathname.startsWith("/latest/")) return this.handleImds(req, from, url, res);
      const target = req.headers["x-amz-target"];
      if (typeof target === "string" && target.startsWith("secretsmanager.")) {
        return this.handleSecrets(from, target.slice("secretsmanager.".length), body, res);
      }
      if (typeof target === "string" && target.startsWith("AmazonSSM.")) {
        return this.handleSsm(from, target.slice("AmazonSSM.".length), body, res);
      }
      const params = new URLSearchParams(req.method === "POST" ? body : url.search);
      if (params.get("Action")) return this.handleEc2(from, params, res);
      this.log(from, "unknown", `${req.method} ${url.pathname}`, 400);
      res.writeHead(400, { "content-type": "text/plain" }).end(`unsupported request ${req.method} ${url.pathname}\n`);
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
    }
  }

  private handleHarness(from: string, url: URL, res: ServerResponse): void {
    if (url.pathname === "/_harness/boot") {
      const address = url.searchParams.get("address") ?? "";
      const id = this.boot(address);
      this.log(from, "harness", "boot", 200);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ instanceId: id }));
      return;
    }
    if (url.pathname === "/_harness/state") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ calls: this.calls, secrets: this.secretState(), parameters: this.parameterState(), enis: this.enis, volumes: this.volumes }),
      );
      return;
    }
    res.writeHead(404).end();
  }

  // ---------------------------------------------------------------- IMDSv2
  private handleImds(req: IncomingMessage, from: string, url: URL, res: ServerResponse): void {
    const path = url.pathname;
    if (path === "/latest/api/token") {
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (req.method !== "PUT" || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600 || req.headers["x-forwarded-for"]) {
        this.log(from, "imds", "token", 400);
        res.writeHead(400).end();
        return;
      }
      const token = randomBytes(24).toString("base64url");
      this.tokens.set(token, Date.now() + ttl * 1000);
      this.log(from, "imds", "token", 200);
      res.writeHead(200, { "content-type": "text/plain", "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) }).end(token);
      return;
    }
    const token = req.headers["x-aws-ec2-metadata-token"];
    const exp = typeof token === "string" ? this.tokens.get(token) : undefined;
    if (!exp || exp < Date.now()) {
      this.log(from, "imds", path, 401);
      res.writeHead(401).end();
      return;
    }
    const host = this.config.hosts.find((h) => h.address === from);
    const value = host ? this.imdsValue(host, path) : undefined;
    this.log(from, "imds", path, value === undefined ? 404 : 200);
    if (value === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(value);
  }

  private imdsValue(h: StandinHost, path: string): string | undefined {
    const instanceId = this.instanceOf.get(h.address)!;
    const octets = h.address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
    const mac = `02:00:${octets.join(":")}`;
    const md = "/latest/meta-data/";
    const doc = {
      accountId: this.config.accountId,
      architecture: "x86_64",
      availabilityZone: h.zone,
      imageId: "ami-0harness00000000",
      instanceId,
      instanceType: "t4g.small",
      privateIp: h.address,
      region: this.config.region,
      version: "2017-09-30",
    };
    const tags = h.tags;
    const table: Record<string, string> = {
      [`${md}instance-id`]: instanceId,
      [`${md}instance-type`]: doc.instanceType,
      [`${md}ami-id`]: doc.imageId,
      [`${md}placement/availability-zone`]: h.zone,
      [`${md}placement/region`]: this.config.region,
      [`${md}local-ipv4`]: h.address,
      [`${md}mac`]: mac,
      [`${md}hostname`]: `ip-${h.address.replace(/\./g, "-")}.${this.config.region}.compute.internal`,
      [`${md}local-hostname`]: `ip-${h.address.replace(/\./g, "-")}.${this.config.region}.compute.internal`,
      [`${md}iam/security-credentials/`]: this.config.roleName,
      [`${md}iam/security-credentials/${this.config.roleName}`]: JSON.stringify({
        Code: "Success",
        LastUpdated: new Date().toISOString(),
        Type: "AWS-HMAC",
        ...this.credentials,
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      }),
      [`${md}tags/instance`]: Object.keys(tags).join("\n"),
      [`${md}tags/instance/`]: Object.keys(tags).join("\n"),
      "/latest/dynamic/instance-identity/document": JSON.stringify(doc, null, 2),
    };
    for (const [k, v] of Object.entries(tags)) table[`${md}tags/instance/${k}`] = v;
    return table[path];
  }

  // ---------------------------------------------------------------- EC2
  private handleEc2(from: string, p: URLSearchParams, res: ServerResponse): void {
    const action = p.get("Action")!;
    const requestId = randomUUID();
    try {
      let inner: string;
      switch (action) {
        case "DescribeNetworkInterfaces":
          inner = `<networkInterfaceSet>${this.filterResources(this.enis, p, "NetworkInterfaceId").map((e) => this.eniXml(e)).join("")}</networkInterfaceSet>`;
          break;
        case "DescribeVolumes":
          inner = `<volumeSet>${this.filterResources(this.volumes, p, "VolumeId").map((v) => this.volumeXml(v)).join("")}</volumeSet>`;
          break;
        case "AttachNetworkInterface": {
          const eni = this.attach(this.enis, p.get("NetworkInterfaceId"), p.get("InstanceId"), p.get("DeviceIndex") ?? "1", "InvalidNetworkInterfaceID.NotFound");
          inner = `<attachmentId>${eni.attachmentId}</attachmentId><networkCardIndex>0</networkCardIndex>`;
          break;
        }
        case "AttachVolume": {
          const vol = this.attach(this.volumes, p.get("VolumeId"), p.get("InstanceId"), p.get("Device") ?? "/dev/sdf", "InvalidVolume.NotFound");
          inner =
            `<volumeId>${vol.id}</volumeId><instanceId>${vol.attachedTo}</instanceId><device>${xmlEscape(vol.device ?? "")}</device>` +
            `<status>attaching</status><attachTime>${vol.attachTime}</attachTime><deleteOnTermination>false</deleteOnTermination>`;
          break;
        }
        case "DetachNetworkInterface": {
          const eni = this.enis.find((e) => e.attachmentId !== undefined && e.attachmentId === p.get("AttachmentId"));
          if (!eni) throw new ApiError("InvalidAttachmentID.NotFound", `The attachment ID '${p.get("AttachmentId")}' does not exist`);
          this.detach(eni);
          inner = "<return>true</return>";
          break;
        }
        case "DetachVolume": {
          const vol = this.volumes.find((v) => v.id === p.get("VolumeId"));
          if (!vol) throw new ApiError("InvalidVolume.NotFound", `The volume '${p.get("VolumeId")}' does not exist`);
          if (!vol.attachedTo) throw new ApiError("IncorrectState", `Volume '${vol.id}' is in the 'available' state.`);
          const instanceId = vol.attachedTo;
          this.detach(vol);
          inner = `<volumeId>${vol.id}</volumeId><instanceId>${instanceId}</instanceId><status>detaching</status>`;
          break;
        }
        case "SetInstanceHealth": {
          const instanceId = p.get("InstanceId") ?? "";
          if (![...this.instanceOf.values()].includes(instanceId)) throw new ApiError("ValidationError", `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
          this.healthReports.push({ instanceId, status: p.get("HealthStatus") ?? "" });
          this.log(from, "autoscaling", action, 200);
          res
            .writeHead(200, { "content-type": "text/xml;charset=UTF-8" })
            .end(`<?xml version="1.0"?>\n<SetInstanceHealthResponse xmlns="${AUTOSCALING_NS}"><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SetInstanceHealthResponse>`);
          return;
        }
        case "DescribeInstances":
          inner = `<reservationSet>${this.instancesXml(p)}</reservationSet>`;
          break;
        case "DescribeTags":
          inner = `<tagSet>${this.describeTags(p)}</tagSet>`;
          break;
        default:
          throw new ApiError("InvalidAction", `The action ${action} is not valid for this web service (harness stand-in).`);
      }
      this.log(from, "ec2", action, 200);
      res
        .writeHead(200, { "content-type": "text/xml;charset=UTF-8" })
        .end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${inner}</${action}Response>`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("InternalError", String(err), 500);
      this.log(from, "ec2", `${action}:${e.code}`, e.status);
      res
        .writeHead(e.status, { "content-type": "text/xml;charset=UTF-8" })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
        );
    }
  }

  private detach(r: SlotResource): void {
    if (r.launchedWith) throw new ApiError("OperationNotPermitted", `${r.id} was created with instance ${r.launchedWith} and cannot be detached (harness stand-in)`);
    r.attachedTo = undefined;
    r.attachmentId = undefined;
    r.device = undefined;
  }

  private attach(list: SlotResource[], id: string | null, instanceId: string | null, device: string, notFound: string): SlotResource {
    const r = list.find((x) => x.id === id);
    if (!r) throw new ApiError(notFound, `The resource '${id}' does not exist`);
    const known = [...this.instanceOf.values()].includes(instanceId ?? "");
    if (!known) throw new ApiError("InvalidInstanceID.NotFound", `The instance ID '${instanceId}' does not exist`);
    if (r.attachedTo && r.attachedTo !== instanceId) {
      throw new ApiError(notFound.startsWith("InvalidVolume") ? "VolumeInUse" : "InvalidNetworkInterface.InUse", `${r.id} is already attached to ${r.attachedTo}`);
    }
    if (r.attachedTo === instanceId) {
      throw new ApiError(notFound.startsWith("InvalidVolume") ? "VolumeInUse" : "InvalidParameterValue", `${r.id} is already attached to ${instanceId}`);
    }
    r.attachedTo = instanceId!;
    r.attachmentId = `${notFound.startsWith("InvalidVolume") ? "vol" : "eni"}-attach-${randomBytes(6).toString("hex")}`;
    r.device = device;
    r.attachTime = new Date().toISOString();
    return r;
  }

  /** Values of a resource for EC2 filter names. */
  private filterValues(r: SlotResource, name: string): string[] {
    if (name.startsWith("tag:")) {
      const v = r.tags[name.slice(4)];
      return v === undefined ? [] : [v];
    }
    switch (name) {
      case "tag-key":
        return Object.keys(r.tags);
      case "availability-zone":
        return [r.zone];
      case "network-interface-id":
      case "volume-id":
        return [r.id];
      case "private-ip-address":
      case "addresses.private-ip-address":
        return [r.address];
      case "attachment.instance-id":
        return r.attachedTo ? [r.attachedTo] : [];
      case "status":
        return [r.id.startsWith("vol-") ? (r.attachedTo ? "in-use" : "available") : r.attachedTo ? "in-use" : "available"];
      case "attachment.status":
        return r.attachedTo ? ["attached"] : [];
      default:
        throw new ApiError("InvalidParameterValue", `The filter '${name}' is invalid (harness stand-in)`);
    }
  }

  private filterResources(list: SlotResource[], p: URLSearchParams, idParam: string): SlotResource[] {
    const ids: string[] = [];
    for (let i = 1; i < 100 && p.get(`${idParam}.${i}`); i++) ids.push(p.get(`${idParam}.${i}`)!);
    let out = ids.length ? list.filter((r) => ids.includes(r.id)) : [...list];
    if (ids.length && out.length !== ids.length) {
      throw new ApiError(idParam === "VolumeId" ? "InvalidVolume.NotFound" : "InvalidNetworkInterfaceID.NotFound", `The resource ids ${ids.join(",")} do not all exist`);
    }
    for (let i = 1; i < 50 && p.get(`Filter.${i}.Name`); i++) {
      const name = p.get(`Filter.${i}.Name`)!;
      const values: string[] = [];
      for (let j = 1; j < 50 && p.get(`Filter.${i}.Value.${j}`) !== null; j++) values.push(p.get(`Filter.${i}.Value.${j}`)!);
      out = out.filter((r) => this.filterValues(r, name).some((v) => values.includes(v)));
    }
    return out;
  }

  private eniXml(e: SlotResource): string {
    const attachment = e.attachedTo
      ? `<attachment><attachmentId>${e.attachmentId}</attachmentId><instanceId>${e.attachedTo}</instanceId><instanceOwnerId>${this.config.accountId}</instanceOwnerId><deviceIndex>${xmlEscape(e.device ?? "1")}</deviceIndex><status>attached</status><attachTime>${e.attachTime}</attachTime><deleteOnTermination>false</deleteOnTermination><networkCardIndex>0</networkCardIndex></attachment>`
      : "";
    return (
      `<item><networkInterfaceId>${e.id}</networkInterfaceId><subnetId>subnet-0harness${e.slotIndex}</subnetId><vpcId>vpc-0harness</vpcId>` +
      `<availabilityZone>${e.zone}</availabilityZone><description>${e.tags.Name}</description><ownerId>${this.config.accountId}</ownerId>` +
      `<requesterManaged>false</requesterManaged><status>${e.attachedTo ? "in-use" : "available"}</status><macAddress>${e.mac ?? `02:00:00:00:00:0${e.slotIndex}`}</macAddress>` +
      `<privateIpAddress>${e.address}</privateIpAddress><sourceDestCheck>true</sourceDestCheck><groupSet/>${attachment}${tagSet(e.tags)}` +
      `<privateIpAddressesSet><item><privateIpAddress>${e.address}</privateIpAddress><primary>true</primary></item></privateIpAddressesSet>` +
      `<ipv6AddressesSet/><interfaceType>interface</interfaceType></item>`
    );
  }

  private volumeXml(v: SlotResource): string {
    const attachment = v.attachedTo
      ? `<item><volumeId>${v.id}</volumeId><instanceId>${v.attachedTo}</instanceId><device>${xmlEscape(v.device ?? "")}</device><status>attached</status><attachTime>${v.attachTime}</attachTime><deleteOnTermination>false</deleteOnTermination></item>`
      : "";
    return (
      `<item><volumeId>${v.id}</volumeId><size>${this.config.volumeGiB}</size><snapshotId/><availabilityZone>${v.zone}</availabilityZone>` +
      `<status>${v.attachedTo ? "in-use" : "available"}</status><createTime>2026-01-01T00:00:00.000Z</createTime>` +
      `<attachmentSet>${attachment}</attachmentSet>${tagSet(v.tags)}<volumeType>gp3</volumeType><iops>3000</iops><throughput>125</throughput>` +
      `<encrypted>true</encrypted><multiAttachEnabled>false</multiAttachEnabled></item>`
    );
  }

  private instancesXml(p: URLSearchParams): string {
    const wanted: string[] = [];
    for (let i = 1; i < 100 && p.get(`InstanceId.${i}`); i++) wanted.push(p.get(`InstanceId.${i}`)!);
    const gone = wanted.filter((id) => this.terminated.has(id));
    const unknown = wanted.filter((id) => !this.terminated.has(id) && ![...this.instanceOf.values()].includes(id));
    if (unknown.length) throw new ApiError("InvalidInstanceID.NotFound", `The instance IDs '${unknown.join(", ")}' do not exist`);
    const terminatedXml = gone
      .map(
        (id) =>
          `<item><reservationId>r-0harness</reservationId><ownerId>${this.config.accountId}</ownerId><groupSet/><instancesSet><item>` +
          `<instanceId>${id}</instanceId><imageId>ami-0harness00000000</imageId><instanceState><code>48</code><name>terminated</name></instanceState></item></instancesSet></item>`,
      )
      .join("");
    return terminatedXml + this.config.hosts
      .filter((h) => !wanted.length || wanted.includes(this.instanceOf.get(h.address)!))
      .map((h) => {
        const id = this.instanceOf.get(h.address)!;
        return (
          `<item><reservationId>r-0harness</reservationId><ownerId>${this.config.accountId}</ownerId><groupSet/><instancesSet><item>` +
          `<instanceId>${id}</instanceId><imageId>ami-0harness00000000</imageId><instanceState><code>16</code><name>running</name></instanceState>` +
          `<privateIpAddress>${h.address}</privateIpAddress><placement><availabilityZone>${h.zone}</availabilityZone></placement>` +
          `${tagSet(h.tags)}</item></instancesSet></item>`
        );
      })
      .join("");
  }

  private describeTags(p: URLSearchParams): string {
    let resourceIds: string[] | undefined;
    for (let i = 1; i < 50 && p.get(`Filter.${i}.Name`); i++) {
      if (p.get(`Filter.${i}.Name`) === "resource-id") {
        resourceIds = [];
        for (let j = 1; j < 50 && p.get(`Filter.${i}.Value.${j}`) !== null; j++) resourceIds.push(p.get(`Filter.${i}.Value.${j}`)!);
      }
    }
    const rows: string[] = [];
    const add = (id: string, type: string, tags: Record<string, string>) => {
      if (resourceIds && !resourceIds.includes(id)) return;
      for (const [k, v] of Object.entries(tags)) {
        rows.push(`<item><resourceId>${id}</resourceId><resourceType>${type}</resourceType><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`);
      }
    };
    for (const h of this.config.hosts) add(this.instanceOf.get(h.address)!, "instance", h.tags);
    for (const e of this.enis) add(e.id, "network-interface", e.tags);
    for (const v of this.volumes) add(v.id, "volume", v.tags);
    return rows.join("");
  }

  // ---------------------------------------------------------------- Secrets Manager
  private handleSecrets(from: string, action: string, body: string, res: ServerResponse): void {
    let req: Record<string, unknown> = {};
    try {
      req = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      const out = this.secretsAction(action, req);
      this.log(from, "secretsmanager", action, 200, String(req.SecretId ?? req.Name ?? ""));
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(out));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("InternalServiceError", String(err), 500);
      this.log(from, "secretsmanager", `${action}:${e.code}`, e.status, String(req.SecretId ?? req.Name ?? ""));
      res
        .writeHead(e.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": e.code })
        .end(JSON.stringify({ __type: e.code, message: e.message, Message: e.message }));
    }
  }

  private findSecret(id: unknown): Secret {
    const s = this.secrets.find((x) => x.arn === id || x.name === id);
    if (!s) throw new ApiError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return s;
  }

  private secretsAction(action: string, req: Record<string, unknown>): unknown {
    switch (action) {
      case "DescribeSecret": {
        const s = this.findSecret(req.SecretId);
        const stages: Record<string, string[]> = {};
        for (const v of s.versions) if (v.stages.length) stages[v.versionId] = v.stages;
        return {
          ARN: s.arn,
          Name: s.name,
          KmsKeyId: s.kmsKeyId,
          CreatedDate: s.created,
          LastChangedDate: s.versions.length ? s.versions[s.versions.length - 1].created : s.created,
          ...(s.versions.length ? { VersionIdsToStages: stages } : {}),
        };
      }
      case "GetSecretValue": {
        const s = this.findSecret(req.SecretId);
        const stage = (req.VersionStage as string | undefined) ?? (req.VersionId ? undefined : "AWSCURRENT");
        const v = s.versions.find((x) => (req.VersionId ? x.versionId === req.VersionId : true) && (stage ? x.stages.includes(stage) : true));
        if (!v) {
          throw new ApiError(
            "ResourceNotFoundException",
            `Secrets Manager can't find the specified secret value for ${req.VersionId ? `VersionId: ${req.VersionId}` : `staging label: ${stage}`}`,
          );
        }
        return secretValueResponse(s.arn, s.name, v);
      }
      case "PutSecretValue": {
        const s = this.findSecret(req.SecretId);
        return this.putVersion(s, req);
      }
      case "CreateSecret": {
        const name = String(req.Name ?? "");
        if (this.secrets.some((x) => x.name === name)) throw new ApiError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
        const s: Secret = {
          arn: `arn:aws:secretsmanager:${this.config.region}:${this.config.accountId}:secret:${name}-${randomBytes(3).toString("hex")}`,
          name,
          kmsKeyId: req.KmsKeyId as string | undefined,
          created: Date.now() / 1000,
          versions: [],
        };
        this.secrets.push(s);
        if (req.SecretString !== undefined || req.SecretBinary !== undefined) {
          const v = this.putVersion(s, req);
          return { ARN: s.arn, Name: s.name, VersionId: v.VersionId };
        }
        return { ARN: s.arn, Name: s.name };
      }
      default:
        throw new ApiError("InvalidAction", `secretsmanager.${action} is not implemented by the harness stand-in`);
    }
  }

  private putVersion(s: Secret, req: Record<string, unknown>): { ARN: string; Name: string; VersionId: string; VersionStages: string[] } {
    const v = putSecretVersion(s.versions, req);
    return { ARN: s.arn, Name: s.name, VersionId: v.versionId, VersionStages: v.stages };
  }

  // ---------------------------------------------------------------- SSM
  private handleSsm(from: string, action: string, body: string, res: ServerResponse): void {
    let req: Record<string, unknown> = {};
    try {
      req = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      const name = String(req.Name ?? "");
      let out: unknown;
      if (action === "GetParameter") {
        const p = this.parameters.get(name);
        if (!p) throw new ApiError("ParameterNotFound", `Parameter ${name} not found.`);
        out = { Parameter: { Name: name, Type: "String", Value: p.value, Version: p.version, DataType: "text" } };
      } else if (action === "PutParameter") {
        const p = this.parameters.get(name);
        if (p && req.Overwrite !== true) throw new ApiError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
        if (req.Type !== undefined && req.Type !== "String") throw new ApiError("ValidationException", `harness stand-in: only String parameters (got ${String(req.Type)})`);
        const version = (p?.version ?? 0) + 1;
        this.parameters.set(name, { value: String(req.Value ?? ""), version });
        out = { Version: version, Tier: "Standard" };
      } else {
        throw new ApiError("InvalidAction", `AmazonSSM.${action} is not implemented by the harness stand-in`);
      }
      this.log(from, "ssm", action, 200, name);
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(out));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("InternalServerError", String(err), 500);
      this.log(from, "ssm", `${action}:${e.code}`, e.status, String(req.Name ?? ""));
      res
        .writeHead(e.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": e.code })
        .end(JSON.stringify({ __type: e.code, message: e.message }));
    }
  }
}
