/**
 * IMDSv2 of the twin, as with `http_tokens = required`
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
 * `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` 1..21600 (400
 * otherwise; 403 with `X-Forwarded-For`), then every GET carries `X-aws-ec2-metadata-token`
 * (401 without a valid token of the same instance). Categories served
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-categories.html):
 * meta-data/{ami-id, instance-id, instance-type, local-ipv4, local-hostname, hostname, mac,
 * placement/availability-zone, placement/region, network/interfaces/macs/<mac>/{device-number,
 * interface-id, local-ipv4s, subnet-id, subnet-ipv4-cidr-block, vpc-id}, iam/info,
 * iam/security-credentials[/], iam/security-credentials/<role>}, dynamic/instance-identity/document,
 * user-data (the decoded bytes). Instance tags in metadata are off (the AWS default).
 */
import { randomBytes } from "crypto";
import type { IncomingMessage, ServerResponse } from "http";
import type { IssuedCredentials } from "./sigv4";
import { roleName, type TwinInstance, type TwinWorld } from "./world";

/** Maximum token TTL IMDS accepts, in seconds (6 hours). */
export const MAX_TOKEN_TTL_S = 21600;

export class ImdsService {
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  constructor(
    private readonly world: TwinWorld,
    /** Current credentials of the instance's role (issued or refreshed by the caller). */
    private readonly credentialsFor: (instance: TwinInstance) => (IssuedCredentials & { roleArn: string; lastUpdated: string }) | undefined,
  ) {}

  /** Handles one IMDS request from `instance` (undefined: the source address is no instance's). */
  handle(req: IncomingMessage, res: ServerResponse, instance: TwinInstance | undefined): number {
    const path = new URL(req.url ?? "/", "http://169.254.169.254").pathname;
    const send = (status: number, body = "", type = "text/plain") => {
      res.writeHead(status, { "content-type": type, server: "EC2ws" }).end(body);
      return status;
    };
    if (!instance || instance.state === "terminated") return send(404, "Not Found");
    if (path === "/latest/api/token") {
      if (req.method !== "PUT") return send(405);
      if (req.headers["x-forwarded-for"]) return send(403, "Forbidden");
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S) return send(400, "Bad Request");
      const token = randomBytes(32).toString("base64url");
      this.tokens.set(token, { instanceId: instance.id, expiresAt: Date.now() + ttl * 1000 });
      res.setHeader("x-aws-ec2-metadata-token-ttl-seconds", String(ttl));
      return send(200, token);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(405);
    const token = req.headers["x-aws-ec2-metadata-token"];
    const t = typeof token === "string" ? this.tokens.get(token) : undefined;
    if (!t || t.expiresAt < Date.now() || t.instanceId !== instance.id) return send(401, "Unauthorized");
    const value = this.value(instance, path);
    if (value === undefined) return send(404, "Not Found");
    return typeof value === "string" ? send(200, value) : (res.writeHead(200, { "content-type": "application/octet-stream" }).end(value), 200);
  }

  private value(i: TwinInstance, path: string): string | Buffer | undefined {
    const md = "/latest/meta-data/";
    if (path === "/latest/user-data") return i.userData === undefined ? undefined : Buffer.from(i.userData, "base64");
    if (path === "/latest/dynamic/instance-identity/document") {
      return JSON.stringify(
        {
          accountId: this.world.accountId,
          architecture: "arm64",
          availabilityZone: i.availabilityZone,
          imageId: i.imageId ?? "ami-0twin000000000000",
          instanceId: i.id,
          instanceType: i.instanceType ?? "t4g.small",
          pendingTime: i.launchTime ?? new Date().toISOString(),
          privateIp: i.privateIp,
          region: this.world.region,
          version: "2017-09-30",
        },
        null,
        2,
      );
    }
    if (!path.startsWith(md)) return undefined;
    const rest = path.slice(md.length);
    const host = `ip-${i.privateIp.replace(/\./g, "-")}.${this.world.region === "us-east-1" ? "ec2" : `${this.world.region}.compute`}.internal`;
    const profile = i.instanceProfileArn ? this.world.instanceProfiles.find((p) => p.arn === i.instanceProfileArn) : undefined;
    const enis = this.world.networkInterfaces.filter((e) => e.attachment?.instanceId === i.id && e.attachment.status === "attached");
    const table: Record<string, string | undefined> = {
      "": ["ami-id", "hostname", "iam/", "instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "network/", "placement/"].join("\n"),
      "ami-id": i.imageId ?? "ami-0twin000000000000",
      "instance-id": i.id,
      "instance-type": i.instanceType ?? "t4g.small",
      "local-ipv4": i.privateIp,
      hostname: host,
      "local-hostname": host,
      mac: i.mac,
      "placement/": "availability-zone\nregion",
      "placement/availability-zone": i.availabilityZone,
      "placement/region": this.world.region,
      "network/interfaces/macs/": [i.mac, ...enis.filter((e) => e.mac !== i.mac).map((e) => e.mac)].map((m) => `${m}/`).join("\n"),
    };
    const macs = [{ mac: i.mac, device: "0", id: enis.find((e) => e.mac === i.mac)?.id ?? "", ip: i.privateIp, subnet: i.subnetId, cidr: i.subnetCidr, vpc: i.vpcId }].concat(
      enis.filter((e) => e.mac !== i.mac).map((e) => ({ mac: e.mac, device: e.attachment!.device, id: e.id, ip: e.privateIp, subnet: e.subnetId, cidr: e.subnetCidr, vpc: e.vpcId })),
    );
    for (const m of macs) {
      const p = `network/interfaces/macs/${m.mac}/`;
      table[p] = "device-number\ninterface-id\nlocal-ipv4s\nmac\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id";
      table[`${p}device-number`] = m.device;
      table[`${p}interface-id`] = m.id;
      table[`${p}local-ipv4s`] = m.ip;
      table[`${p}mac`] = m.mac;
      table[`${p}subnet-id`] = m.subnet;
      table[`${p}subnet-ipv4-cidr-block`] = m.cidr;
      table[`${p}vpc-id`] = m.vpc;
    }
    if (profile) {
      const creds = this.credentialsFor(i);
      const name = roleName(profile.roleArn);
      table["iam/"] = "info\nsecurity-credentials/";
      table["iam/info"] = JSON.stringify({ Code: "Success", LastUpdated: creds?.lastUpdated, InstanceProfileArn: profile.arn, InstanceProfileId: "AIPA" + profile.arn.length.toString().padStart(17, "0") }, null, 2);
      table["iam/security-credentials"] = name;
      table["iam/security-credentials/"] = name;
      if (creds) {
        table[`iam/security-credentials/${name}`] = JSON.stringify(
          {
            Code: "Success",
            LastUpdated: creds.lastUpdated,
            Type: "AWS-HMAC",
            AccessKeyId: creds.accessKeyId,
            SecretAccessKey: creds.secretAccessKey,
            Token: creds.sessionToken,
            Expiration: new Date(creds.expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          },
          null,
          2,
        );
      }
    }
    return table[rest];
  }
}
