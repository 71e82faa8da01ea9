/**
 * The twin's AWS API (issue 10, part C): IMDSv2, EC2, Auto Scaling, Secrets Manager, KMS,
 * STS, S3 and SSM Parameter Store, every API request SigV4-checked against credentials the twin issued through
 * IMDS and authorized with @cloud-copilot/iam-simulate against the caller's role policies
 * and the resource's policy. See docs/live-harness.md, "What the twin enforces".
 *
 * Endpoints are dispatched by Host, as on AWS: `ec2.<region>.amazonaws.com`,
 * `autoscaling.<region>.amazonaws.com`, `secretsmanager.<region>.amazonaws.com`,
 * `kms.<region>.amazonaws.com`, `sts.<region>.amazonaws.com`, `ssm.<region>.amazonaws.com`, `s3.<region>.amazonaws.com`
 * (path style) and `<bucket>.s3.<region>.amazonaws.com` (virtual-hosted style). A request to
 * an address (`--endpoint-url https://127.0.0.5:port`) is dispatched by its credential
 * scope's service (S3: path style).
 */
import { randomBytes, randomUUID } from "crypto";
import { mkdtempSync } from "fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "http";
import { createServer as createHttpsServer } from "https";
import type { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { authorize, globalContext, type AuthzDecision, type CallerIdentity } from "./authorize";
import type { CallContext } from "./context";
import { Ec2Service, type AutoScalingHooks, type HotplugHooks } from "./ec2";
import { accessDenied, authError, AwsError, errorBody, type Protocol } from "./errors";
import { ImdsService } from "./imds";
import { S3Service } from "./s3";
import { getCallerIdentity, KmsService, SecretsService } from "./secrets";
import { SsmService } from "./ssm";
import { parseAuthorization, parseQuery, verifySigV4, type IssuedCredentials } from "./sigv4";
import { ec2Arn, roleName, type TwinInstance, type TwinWorld } from "./world";

export type { AutoScalingHooks, HotplugEvent, HotplugHooks, ScaleInEvent } from "./ec2";
export type { AuthzDecision, CallerIdentity } from "./authorize";
export * from "./world";

/** A listener address. */
export interface Listen {
  readonly host: string;
  /** 0: a free port (see {@link TwinAws.endpoints}). */
  readonly port: number;
}

/** Options of {@link startTwinAws}. */
export interface TwinAwsOptions {
  readonly world: TwinWorld;
  /** Server certificate (PEM) for the API's TLS listeners: SANs must cover the public names (see {@link twinServiceNames}) and the listen addresses. */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** HTTPS listeners of the API. */
  readonly api: readonly Listen[];
  /** Plain-HTTP listeners of the API (aws:SecureTransport false). @default - none */
  readonly apiHttp?: readonly Listen[];
  /**
   * IMDS listeners (plain HTTP; 169.254.169.254:80 in the real wiring). The calling instance
   * is the one whose primary address is the request's source address, or `instanceId` when
   * given (test-only: every process on loopback has the same source address).
   */
  readonly imds: readonly (Listen & { readonly instanceId?: string })[];
  /** Where S3 object bodies are stored. @default - a new directory under the OS temp dir */
  readonly dataDir?: string;
  /** ENI/volume hotplug (the lead connects the machines). @default - attachments complete at once */
  readonly hotplug?: HotplugHooks;
  /** Auto Scaling's instance actions (TwinCluster terminates the machine and launches the replacement). @default - TerminateInstanceInAutoScalingGroup terminates the instance in the world at once, nothing is launched */
  readonly autoScaling?: AutoScalingHooks;
  /** Lifetime of instance role credentials, in seconds (AWS: about 6 hours; refreshed 15 minutes before expiry). @default 21600 */
  readonly credentialLifetimeSeconds?: number;
  /** Called with every authorization decision. */
  readonly onDecision?: (d: AuthzDecision) => void;
}

/** What {@link TwinAws.launchInstance} needs: the instance and its launch template's tag specifications. */
export interface LaunchSpec extends Omit<TwinInstance, "tags" | "state"> {
  readonly tagSpecifications: readonly { readonly resourceType: "instance" | "network-interface" | "volume"; readonly tags: Record<string, string> }[];
  /** Root volume. @default - 8 GiB gp3, unencrypted */
  readonly rootVolume?: { readonly sizeGiB: number; readonly kmsKeyArn?: string };
}

/** One logged API call. */
export interface TwinCall {
  readonly at: string;
  readonly from: string;
  readonly service: string;
  readonly action: string;
  readonly principal?: string;
  readonly status: number;
  readonly error?: string;
}

/** The running twin. */
export interface TwinAws {
  readonly world: TwinWorld;
  /** Every authorization decision, in order (also each KMS call made on a caller's behalf). */
  readonly decisions: AuthzDecision[];
  readonly calls: TwinCall[];
  /** Errors of hotplug hooks and internal failures. */
  readonly problems: string[];
  /** SetInstanceHealth reports. */
  readonly healthReports: Ec2Service["healthReports"];
  /** Accepted TerminateInstanceInAutoScalingGroup calls. */
  readonly scaleIns: Ec2Service["scaleIns"];
  /** Actual listener addresses ("host:port"), in option order. */
  readonly endpoints: { api: string[]; apiHttp: string[]; imds: string[] };
  readonly s3: S3Service;
  readonly secrets: SecretsService;
  readonly ssm: SsmService;
  /** Replaces a role's identity policies (JSON texts): takes effect on the next request. */
  setRolePolicies(roleArn: string, policies: string[]): void;
  /**
   * Launches an instance as EC2 does from a launch template: the instance (`running`), its
   * primary network interface (device index 0, the instance's address and MAC) and its root
   * volume (`/dev/xvda`), both attached with delete-on-termination and tagged per the launch
   * template's `tag_specifications` (resource types `instance`, `network-interface`, `volume`).
   * @throws Error when the instance id or address is already in use by a live instance
   */
  launchInstance(spec: LaunchSpec): TwinInstance;
  /** Marks an instance shutting-down, then terminated after `releaseAfterMs`: its attachments are released (deleteOnTermination ones deleted), IMDS stops answering it; credentials it was given stay valid until they expire, as on AWS. */
  terminateInstance(instanceId: string, releaseAfterMs?: number): Promise<void>;
  close(): Promise<void>;
}

const PROTOCOL: Record<string, Protocol> = { ec2: "ec2", autoscaling: "query", sts: "query", secretsmanager: "json", kms: "json", ssm: "json", s3: "s3" };

/** The DNS names the twin's certificate must cover for `region`. */
export function twinServiceNames(region: string): string[] {
  return [...["ec2", "autoscaling", "secretsmanager", "kms", "sts", "ssm", "s3"].map((s) => `${s}.${region}.amazonaws.com`), `*.s3.${region}.amazonaws.com`];
}

interface Issued extends IssuedCredentials {
  readonly instanceId: string;
  readonly roleArn: string;
  readonly lastUpdated: string;
}

function roleIdOf(roleArn: string, given?: string): string {
  if (given) return given;
  const h = Buffer.from(roleArn).toString("hex").toUpperCase();
  return ("AROA" + h.slice(-17)).padEnd(21, "X");
}

function readBody(req: IncomingMessage, limit = 256 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > limit) reject(new Error("request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Starts the twin on the given listeners.
 * @throws Error when a listener cannot bind
 */
export async function startTwinAws(opts: TwinAwsOptions): Promise<TwinAws> {
  const { world } = opts;
  const lifetime = (opts.credentialLifetimeSeconds ?? 21600) * 1000;
  const issued = new Map<string, Issued>();
  const current = new Map<string, Issued>();
  const decisions: AuthzDecision[] = [];
  const calls: TwinCall[] = [];
  const problems: string[] = [];
  const hooks = opts.hotplug ?? {};
  const autoScaling: AutoScalingHooks = { terminate: opts.autoScaling?.terminate ?? ((e) => twin.terminateInstance(e.instanceId, 0)) };
  const ec2 = new Ec2Service(world, () => hooks, (m) => problems.push(m), () => autoScaling);
  const secrets = new SecretsService(world);
  const kms = new KmsService(world);
  const ssm = new SsmService(world);
  const s3 = new S3Service(world, opts.dataDir ?? mkdtempSync(join(tmpdir(), "twin-s3-")));

  const credentialsFor = (i: TwinInstance): Issued | undefined => {
    const profile = world.instanceProfiles.find((p) => p.arn === i.instanceProfileArn);
    if (!profile || i.state === "terminated") return undefined;
    let c = current.get(i.id);
    // AWS makes new credentials available at least 5 minutes before the old ones expire
    if (!c || c.roleArn !== profile.roleArn || c.expiresAt - Date.now() < Math.min(15 * 60_000, lifetime / 4)) {
      c = {
        accessKeyId: "ASIA" + randomBytes(10).toString("base64").replace(/[^A-Z0-9]/gi, "").toUpperCase().padEnd(16, "7").slice(0, 16),
        secretAccessKey: randomBytes(30).toString("base64").slice(0, 40),
        sessionToken: randomBytes(96).toString("base64"),
        expiresAt: Date.now() + lifetime,
        instanceId: i.id,
        roleArn: profile.roleArn,
        lastUpdated: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      };
      issued.set(c.accessKeyId, c);
      current.set(i.id, c);
    }
    return c;
  };
  const imds = new ImdsService(world, credentialsFor);

  const log = (c: TwinCall) => {
    calls.push(c);
    if (calls.length > 20000) calls.splice(0, 5000);
  };
  const record = (d: AuthzDecision) => {
    decisions.push(d);
    if (decisions.length > 20000) decisions.splice(0, 5000);
    opts.onDecision?.(d);
  };

  const callerOf = (c: Issued): CallerIdentity => {
    const inst = world.instances.find((i) => i.id === c.instanceId)!;
    const role = world.roles.find((r) => r.arn === c.roleArn);
    return {
      sessionArn: `arn:aws:sts::${world.accountId}:assumed-role/${roleName(c.roleArn)}/${c.instanceId}`,
      roleArn: c.roleArn,
      roleId: roleIdOf(c.roleArn, role?.roleId),
      accountId: world.accountId,
      instanceId: c.instanceId,
      instanceArn: ec2Arn(world, "instance", c.instanceId),
      instancePrivateIp: inst.privateIp,
      vpcId: inst.vpcId,
      ...(role?.tags ? { roleTags: role.tags } : {}),
    };
  };

  async function handleApi(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    const requestId = randomUUID();
    const from = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const rawUrl = req.url ?? "/";
    const qi = rawUrl.indexOf("?");
    const rawPath = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    const rawQuery = qi < 0 ? "" : rawUrl.slice(qi + 1);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
    const host = (headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    const query = parseQuery(rawQuery);
    const r = world.region.replace(/[.]/g, "\\.");
    let service: string | undefined;
    let bucketFromHost: string | undefined;
    const m = new RegExp(`^(?:(.+)\\.)?(ec2|autoscaling|secretsmanager|kms|sts|ssm|s3)\\.${r}\\.amazonaws\\.com$`).exec(host);
    if (m && (m[1] === undefined || m[2] === "s3")) {
      service = m[2];
      bucketFromHost = m[1];
    } else {
      const cred = (Array.isArray(query["X-Amz-Credential"]) ? query["X-Amz-Credential"][0] : query["X-Amz-Credential"]) as string | undefined;
      service = parseAuthorization(headers.authorization)?.service ?? cred?.split("/")[3];
    }
    const protocol: Protocol = PROTOCOL[service ?? ""] ?? "query";
    let action = `${req.method} ${rawPath}`;
    let principal: string | undefined;
    let resourceForError = "";
    try {
      const body = await readBody(req);
      if (!service || !PROTOCOL[service]) throw new AwsError("UnknownEndpoint", `No service of the twin answers at ${host}`, 404);
      const sig = await verifySigV4({ method: req.method ?? "GET", rawPath, rawQuery, headers, body }, (id) => issued.get(id));
      if (!sig.ok) throw authError(protocol, sig.kind, sig.message);
      if (sig.service !== service) throw authError(protocol, "signature", `Credential should be scoped to correct service: '${service}'.`);
      if (sig.region !== world.region) throw authError(protocol, "signature", `Credential should be scoped to a valid region, not '${sig.region}'.`);
      const creds = issued.get(sig.credentials.accessKeyId)!;
      // as on AWS, role credentials stay valid until they expire, even after the instance is terminated
      const caller = callerOf(creds);
      principal = caller.sessionArn;
      const now = new Date();
      const role = () => world.roles.find((x) => x.arn === caller.roleArn)?.policies ?? [];
      const ctx: CallContext = {
        world,
        caller,
        protocol,
        secure,
        sourceIp: from,
        requestId,
        async authorize(act, resource, o = {}) {
          const d = await authorize({
            caller,
            identityPolicies: role(),
            action: act,
            resource,
            resourceAccount: world.accountId,
            resourcePolicy: o.resourcePolicy,
            context: { ...globalContext(caller, { secureTransport: secure, sourceIp: from, region: world.region, now }), ...o.context },
          });
          record(d);
          if (d.result !== "Allowed") {
            resourceForError = resource;
            throw accessDenied(protocol, d.message!, d);
          }
          return d;
        },
        async kmsOnBehalf(keyArn, act, svc, context, refusal) {
          const key = world.kmsKeys.find((k) => k.arn === keyArn)!;
          const via = `${svc}.${world.region}.amazonaws.com`;
          const d = await authorize({
            caller,
            identityPolicies: role(),
            action: act,
            resource: keyArn,
            resourceAccount: keyArn.split(":")[4]!,
            resourcePolicy: key.policy,
            via,
            context: {
              ...globalContext(caller, { secureTransport: true, sourceIp: from, region: world.region, now, viaAwsService: true }),
              "kms:ViaService": via,
              "kms:CallerAccount": caller.accountId,
              ...context,
            },
          });
          record(d);
          if (d.result !== "Allowed") throw refusal(d);
        },
      };
      let out: { status: number; headers: Record<string, string>; body?: Buffer | string };
      if (service === "s3") {
        let bucket = bucketFromHost;
        let keyPath = rawPath.slice(1);
        if (!bucket) {
          const i = keyPath.indexOf("/");
          bucket = decodeURIComponent(i < 0 ? keyPath : keyPath.slice(0, i)) || undefined;
          keyPath = i < 0 ? "" : keyPath.slice(i + 1);
        }
        const key = keyPath ? decodeURIComponent(keyPath) : undefined;
        action = `s3 ${req.method} ${key === undefined ? "bucket" : "object"}${Object.keys(query).filter((k) => !k.startsWith("X-Amz-")).map((k) => `?${k}`).join("")}`;
        resourceForError = key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
        out = await s3.handle(ctx, { method: req.method ?? "GET", bucket, key, query, headers, payload: sig.payload, presigned: sig.presigned });
      } else if (protocol === "json") {
        const target = headers["x-amz-target"] ?? "";
        const op = target.slice(target.indexOf(".") + 1);
        action = `${service}:${op}`;
        const input = sig.payload.length ? (JSON.parse(sig.payload.toString("utf8")) as Record<string, unknown>) : {};
        const result = service === "kms" ? await kms.handle(ctx, op, input) : service === "ssm" ? await ssm.handle(ctx, op, input) : await secrets.handle(ctx, op, input);
        out = { status: 200, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId }, body: JSON.stringify(result) };
      } else {
        const p = new URLSearchParams(req.method === "POST" ? sig.payload.toString("utf8") : rawQuery);
        action = `${service}:${p.get("Action") ?? "?"}`;
        const xml =
          service === "ec2"
            ? await ec2.handleEc2(ctx, p)
            : service === "autoscaling"
              ? await ec2.handleAutoScaling(ctx, p)
              : getCallerIdentity(ctx, p.get("Action") ?? "");
        out = { status: 200, headers: { "content-type": "text/xml;charset=UTF-8" }, body: xml };
      }
      res.writeHead(out.status, { "x-amz-request-id": requestId, ...out.headers });
      res.end(req.method === "HEAD" ? undefined : out.body);
      log({ at: new Date().toISOString(), from, service, action, principal, status: out.status });
    } catch (err) {
      const e = err instanceof AwsError ? err : new AwsError("InternalError", String((err as Error)?.stack ?? err), 500);
      if (!(err instanceof AwsError)) problems.push(`${action}: ${e.message}`);
      const eb = errorBody(protocol, e, requestId, resourceForError);
      res.writeHead(e.status, { "content-type": eb.contentType, ...eb.headers });
      res.end(req.method === "HEAD" ? undefined : eb.body);
      log({ at: new Date().toISOString(), from, service: service ?? "?", action, principal, status: e.status, error: `${e.code}: ${e.message}` });
    }
  }

  const servers: Server[] = [];
  const listen = (server: Server, l: Listen): Promise<string> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(l.port, l.host, () => {
        const a = server.address() as AddressInfo;
        resolve(`${l.host}:${a.port}`);
      });
      servers.push(server);
    });
  const onApi = (secure: boolean) => (req: IncomingMessage, res: ServerResponse) => void handleApi(req, res, secure);
  const endpoints = { api: [] as string[], apiHttp: [] as string[], imds: [] as string[] };
  for (const l of opts.api) endpoints.api.push(await listen(createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, onApi(true)), l));
  for (const l of opts.apiHttp ?? []) endpoints.apiHttp.push(await listen(createHttpServer(onApi(false)), l));
  for (const l of opts.imds) {
    const server = createHttpServer((req, res) => {
      const from = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
      const inst = l.instanceId
        ? world.instances.find((i) => i.id === l.instanceId)
        : world.instances.find((i) => i.privateIp === from && i.state !== "terminated");
      req.resume();
      req.on("end", () => {
        const status = imds.handle(req, res, inst);
        log({ at: new Date().toISOString(), from, service: "imds", action: `${req.method} ${req.url}`, principal: inst?.id, status });
      });
    });
    endpoints.imds.push(await listen(server, l));
  }

  const twin: TwinAws = {
    world,
    decisions,
    calls,
    problems,
    healthReports: ec2.healthReports,
    scaleIns: ec2.scaleIns,
    endpoints,
    s3,
    secrets,
    ssm,
    setRolePolicies(roleArn, policies) {
      const role = world.roles.find((r) => r.arn === roleArn);
      if (!role) throw new Error(`no role ${roleArn} in the twin's world`);
      role.policies = [...policies];
    },
    launchInstance(spec) {
      const { tagSpecifications, rootVolume, ...rest } = spec;
      if (world.instances.some((i) => i.state !== "terminated" && (i.id === spec.id || i.privateIp === spec.privateIp))) {
        throw new Error(`instance ${spec.id} or address ${spec.privateIp} is in use in the twin's world`);
      }
      const tagsOf = (t: string) => ({ ...(tagSpecifications.find((x) => x.resourceType === t)?.tags ?? {}) });
      const inst: TwinInstance = { ...rest, tags: tagsOf("instance"), state: "running", launchTime: spec.launchTime ?? new Date().toISOString() };
      const serial = spec.id.slice(2);
      const attachTime = new Date().toISOString();
      world.instances.push(inst);
      world.networkInterfaces.push({
        id: `eni-${serial}`,
        subnetId: spec.subnetId,
        subnetCidr: spec.subnetCidr,
        vpcId: spec.vpcId,
        availabilityZone: spec.availabilityZone,
        privateIp: spec.privateIp,
        mac: spec.mac,
        tags: tagsOf("network-interface"),
        description: "",
        attachment: { instanceId: spec.id, attachmentId: `eni-attach-${serial}`, device: "0", status: "attached", attachTime, deleteOnTermination: true },
      });
      world.volumes.push({
        id: `vol-${serial}`,
        availabilityZone: spec.availabilityZone,
        sizeGiB: rootVolume?.sizeGiB ?? 8,
        volumeType: "gp3",
        encrypted: rootVolume?.kmsKeyArn !== undefined,
        ...(rootVolume?.kmsKeyArn ? { kmsKeyArn: rootVolume.kmsKeyArn } : {}),
        tags: tagsOf("volume"),
        attachment: { instanceId: spec.id, attachmentId: `vol-attach-${serial}`, device: "/dev/xvda", status: "attached", attachTime, deleteOnTermination: true },
      });
      return inst;
    },
    async terminateInstance(instanceId, releaseAfterMs = 0) {
      const inst = world.instances.find((i) => i.id === instanceId);
      if (!inst) throw new Error(`no instance ${instanceId} in the twin's world`);
      inst.state = "shutting-down";
      await new Promise((r) => setTimeout(r, releaseAfterMs));
      inst.state = "terminated";
      current.delete(inst.id);
      for (const list of [world.networkInterfaces, world.volumes] as const) {
        for (let i = list.length - 1; i >= 0; i--) {
          const x = list[i]!;
          if (x.attachment?.instanceId !== inst.id) continue;
          if (x.attachment.deleteOnTermination) list.splice(i, 1);
          else x.attachment = undefined;
        }
      }
    },
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
  return twin;
}
